package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Inside a Tx callback the tests report failures by returning errors, never
// with t.Fatal: that would leave the transaction open.

func testTx(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	errBoom := errors.New("boom")

	t.Run("RollbackOnError", func(t *testing.T) {
		p := mkPopulation(env.ID, "Rolled back")
		a := mkApp(env.ID, "Rolled back")
		err := s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreatePopulation(ctx, p); err != nil {
				return fmt.Errorf("CreatePopulation in tx: %w", err)
			}
			if err := tx.CreateApplication(ctx, a); err != nil {
				return fmt.Errorf("CreateApplication in tx: %w", err)
			}
			if err := tx.PutMeta(ctx, "tx.key", "x"); err != nil {
				return fmt.Errorf("PutMeta in tx: %w", err)
			}
			// The transaction reads its own writes.
			got, err := tx.GetPopulation(ctx, env.ID, p.ID)
			if err != nil {
				return fmt.Errorf("GetPopulation in tx: %w", err)
			}
			if got.Name != p.Name {
				return fmt.Errorf("GetPopulation in tx: name %q, want %q", got.Name, p.Name)
			}
			if _, total, err := tx.ListPopulations(ctx, env.ID, store.Page{Filter: filter(t, `name eq "rolled back"`)}); err != nil || total != 1 {
				return fmt.Errorf("ListPopulations in tx: total %d, %v; want 1", total, err)
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Tx = %v, want the callback's error", err)
		}
		_, err = s.GetPopulation(ctx, env.ID, p.ID)
		wantErr(t, err, store.ErrNotFound, "GetPopulation after rollback")
		_, err = s.GetApplication(ctx, env.ID, a.ID)
		wantErr(t, err, store.ErrNotFound, "GetApplication after rollback")
		_, err = s.GetMeta(ctx, "tx.key")
		wantErr(t, err, store.ErrNotFound, "GetMeta after rollback")
		_, total, err := s.ListPopulations(ctx, env.ID, store.Page{})
		must(t, err, "ListPopulations after rollback")
		if total != 0 {
			t.Errorf("ListPopulations total after rollback = %d, want 0", total)
		}
		// The name is free again.
		newPopulation(t, s, env.ID, "Rolled back")
	})

	t.Run("RollbackOnStoreError", func(t *testing.T) {
		newPopulation(t, s, env.ID, "Taken")
		p := mkPopulation(env.ID, "Fresh")
		err := s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreatePopulation(ctx, p); err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
			return tx.CreatePopulation(ctx, mkPopulation(env.ID, "taken"))
		})
		wantUnique(t, err, "population", "name", "Tx returning the store's own error")
		_, err = s.GetPopulation(ctx, env.ID, p.ID)
		wantErr(t, err, store.ErrNotFound, "GetPopulation after rollback")
	})

	t.Run("Commit", func(t *testing.T) {
		p := mkPopulation(env.ID, "Committed")
		a := mkApp(env.ID, "Committed")
		must(t, s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreatePopulation(ctx, p); err != nil {
				return err
			}
			return tx.CreateApplication(ctx, a)
		}), "Tx")
		got, err := s.GetPopulation(ctx, env.ID, p.ID)
		must(t, err, "GetPopulation after commit")
		checkRecord(t, "GetPopulation after commit", got, p)
		gotApp, err := s.GetApplication(ctx, env.ID, a.ID)
		must(t, err, "GetApplication after commit")
		checkRecord(t, "GetApplication after commit", gotApp, a)
	})

	t.Run("NestedJoinsOuter", func(t *testing.T) {
		outer := mkPopulation(env.ID, "Outer")
		inner := mkPopulation(env.ID, "Inner")
		err := s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreatePopulation(ctx, outer); err != nil {
				return fmt.Errorf("outer write: %w", err)
			}
			if err := tx.Tx(ctx, func(tx2 store.Store) error {
				// The inner store sees the outer write: one transaction.
				if _, err := tx2.GetPopulation(ctx, env.ID, outer.ID); err != nil {
					return fmt.Errorf("inner read of the outer write: %w", err)
				}
				return tx2.CreatePopulation(ctx, inner)
			}); err != nil {
				return fmt.Errorf("inner Tx: %w", err)
			}
			if _, err := tx.GetPopulation(ctx, env.ID, inner.ID); err != nil {
				return fmt.Errorf("outer read of the inner write: %w", err)
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Tx = %v, want the callback's error", err)
		}
		for _, p := range []*store.Population{outer, inner} {
			_, err := s.GetPopulation(ctx, env.ID, p.ID)
			wantErr(t, err, store.ErrNotFound, "GetPopulation "+p.Name+" after the outer rollback")
		}
	})

	t.Run("NestedInnerErrorReturned", func(t *testing.T) {
		p := mkPopulation(env.ID, "Inner failure")
		err := s.Tx(ctx, func(tx store.Store) error {
			return tx.Tx(ctx, func(tx2 store.Store) error {
				if err := tx2.CreatePopulation(ctx, p); err != nil {
					return err
				}
				return errBoom
			})
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Tx = %v, want the inner callback's error", err)
		}
		_, err = s.GetPopulation(ctx, env.ID, p.ID)
		wantErr(t, err, store.ErrNotFound, "GetPopulation after the inner error")
	})

	t.Run("NestedCommit", func(t *testing.T) {
		outer := mkPopulation(env.ID, "Outer ok")
		inner := mkPopulation(env.ID, "Inner ok")
		must(t, s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreatePopulation(ctx, outer); err != nil {
				return err
			}
			return tx.Tx(ctx, func(tx2 store.Store) error { return tx2.CreatePopulation(ctx, inner) })
		}), "nested Tx")
		for _, p := range []*store.Population{outer, inner} {
			_, err := s.GetPopulation(ctx, env.ID, p.ID)
			must(t, err, "GetPopulation "+p.Name+" after the nested commit")
		}
	})
}

// testTxPanic: a panic in the callback propagates, rolls back, and leaves no
// transaction open behind (on SQLite it would hold the only writer).
func testTxPanic(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	p := mkPopulation(env.ID, "Panicked")
	func() {
		defer func() {
			if r := recover(); r != "kaboom" {
				t.Errorf("recovered %v, want the callback's panic", r)
			}
		}()
		_ = s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreatePopulation(ctx, p); err != nil {
				return err
			}
			panic("kaboom")
		})
	}()

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.GetPopulation(ctx, env.ID, p.ID)
	wantErr(t, err, store.ErrNotFound, "GetPopulation after a panicking Tx")
	must(t, s.CreatePopulation(ctx, mkPopulation(env.ID, "Panicked")), "CreatePopulation after a panicking Tx")
	must(t, s.Tx(ctx, func(tx store.Store) error {
		return tx.CreatePopulation(ctx, mkPopulation(env.ID, "Next"))
	}), "Tx after a panicking Tx")
}

// testConcurrentUniqueness: racing creators of one name; exactly one wins and
// every loser gets ErrConflict (not a lock or busy error).
func testConcurrentUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	const n = 20
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreatePopulation(ctx, mkPopulation(env.ID, "Contended"))
		})
	}
	close(start)
	wg.Wait()

	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("creator %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d creators succeeded, want exactly 1", won)
	}
	items, total, err := s.ListPopulations(ctx, env.ID, store.Page{})
	must(t, err, "ListPopulations")
	if total != 1 || len(items) != 1 {
		t.Errorf("%d populations (total %d) after the race, want 1", len(items), total)
	}
}

// testConcurrentWrites: concurrent writers, transactions and readers of
// different rows all succeed.
func testConcurrentWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	const n = 20
	start := make(chan struct{})
	errs := make([]error, 3*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreatePopulation(ctx, mkPopulation(env.ID, fmt.Sprintf("plain-%02d", i)))
		})
		wg.Go(func() {
			<-start
			errs[n+i] = s.Tx(ctx, func(tx store.Store) error {
				p := mkPopulation(env.ID, fmt.Sprintf("tx-%02d", i))
				if err := tx.CreatePopulation(ctx, p); err != nil {
					return err
				}
				a := mkApp(env.ID, p.Name)
				if err := tx.CreateApplication(ctx, a); err != nil {
					return err
				}
				_, err := tx.GetApplication(ctx, env.ID, a.ID)
				return err
			})
		})
		wg.Go(func() {
			<-start
			_, _, err := s.ListPopulations(ctx, env.ID, store.Page{Limit: 5})
			if err == nil {
				_, err = s.GetEnvironment(ctx, env.ID)
			}
			errs[2*n+i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	_, total, err := s.ListPopulations(ctx, env.ID, store.Page{})
	must(t, err, "ListPopulations")
	if total != 2*n {
		t.Errorf("%d populations after concurrent writes, want %d", total, 2*n)
	}
	apps, err := s.ListApplications(ctx, env.ID)
	must(t, err, "ListApplications")
	if len(apps) != n {
		t.Errorf("%d applications after concurrent transactions, want %d", len(apps), n)
	}
}
