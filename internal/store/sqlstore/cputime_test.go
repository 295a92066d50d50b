package sqlstore

import "syscall"

// processCPU is the CPU time this process has used, in ms: on a shared
// machine a steadier measure of a SQLite query's work than the wall clock.
func processCPU() float64 {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e6
}
