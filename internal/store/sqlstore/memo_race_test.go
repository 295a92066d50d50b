package sqlstore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestTokenLivenessFollowsWrites: readers hammer the memo for tokens while
// writers revoke them; once a revocation has returned, no read begun after
// it answers "not revoked".
func TestTokenLivenessFollowsWrites(t *testing.T) {
	for _, dsn := range []string{sqltest.SQLite(t), "sqlite::memory:"} {
		s := openStore(t, dsn)
		ctx := t.Context()
		envID, _ := seedUsers(t, s, 1000)
		const n = 300
		var revoked [n]chan struct{}
		for i := range revoked {
			revoked[i] = make(chan struct{})
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for r := 0; r < 6; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					i := k % n
					done := false
					select {
					case <-revoked[i]:
						done = true
					default:
					}
					got, err := s.IsTokenRevoked(ctx, envID, fmt.Sprint("jti", i))
					if err != nil {
						t.Error(err)
						return
					}
					st, err := s.AccessTokenState(ctx, envID, fmt.Sprint("jti", i), "", "")
					if err != nil {
						t.Error(err)
						return
					}
					if done && (!got || !st.Revoked) {
						t.Errorf("jti%d: revoked=%v state=%v after its revocation returned", i, got, st.Revoked)
						return
					}
				}
			}()
		}
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 3 {
					time.Sleep(50 * time.Microsecond)
					if err := s.RevokeTokenID(ctx, envID, fmt.Sprint("jti", i), time.Now().Add(time.Hour)); err != nil {
						t.Error(err)
						return
					}
					close(revoked[i])
				}
			}()
		}
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		wg.Wait()
	}
}

// Two reads of one instant are one key however the instant was made (a
// filter's time carries a monotonic reading and a zone; the query gets
// milliseconds).
func TestMemoKeyTimes(t *testing.T) {
	now := time.Now()
	same := time.UnixMilli(now.UnixMilli()).In(time.FixedZone("X", 3600))
	if a, b := memoKey("q", "e", now.Truncate(time.Millisecond)), memoKey("q", "e", same); a != b {
		t.Errorf("keys differ: %q %q", a, b)
	}
	if a, b := memoKey("q", "1"), memoKey("q", 1); a == b {
		t.Errorf("a string and a number share key %q", a)
	}
}
