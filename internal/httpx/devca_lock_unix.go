//go:build unix

package httpx

import (
	"errors"
	"os"
	"syscall"
)

// lockFile holds an exclusive lock on path (made if need be) until the
// function it returns is called. The kernel drops the lock with the
// process, so a start that died never blocks the next one.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
