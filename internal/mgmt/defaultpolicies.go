package mgmt

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// defaultedPolicies is an environment's collection of policies of which
// exactly one is the default: device authentication policies and FIDO2
// policies. Their writes share one transaction shape, kept here so that
// the lock order that keeps them from deadlocking, and the rule that the
// default is never deleted, are written once. The store methods are
// method expressions, so that each runs on the transaction it is given.
type defaultedPolicies[P any] struct {
	lock         func(store.Store, context.Context, string) error
	read         func(store.Store, context.Context, string, string) (*P, error)
	clearDefault func(store.Store, context.Context, string, string) error
	insert       func(store.Store, context.Context, *P) error
	write        func(store.Store, context.Context, *P) error
	remove       func(store.Store, context.Context, string, string) error
	// head is the record's id and default flag; touch stamps its update
	// time. The record types are the store's, so they cannot be given
	// methods here.
	head  func(*P) (id string, isDefault bool)
	touch func(*P)
	// refuseDefault is the collection's own answer to deleting the
	// default: clients match on its words.
	refuseDefault func() error
}

// create inserts p, already validated, with its default flag applied.
// Only a new default takes the lock: writers moving the default run one
// after the other, else two clear at once and the second insert meets
// the first's default. check, if any, runs after the lock, so that a
// create takes the lock and any row check reads in the order an update
// does.
func (c defaultedPolicies[P]) create(ctx context.Context, st store.Store, envID string, p *P, check func(tx store.Store) error) error {
	return st.Tx(ctx, func(tx store.Store) error {
		if id, def := c.head(p); def {
			if err := c.lock(tx, ctx, envID); err != nil {
				return err
			}
			if err := c.clearDefault(tx, ctx, envID, id); err != nil {
				return err
			}
		}
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		return c.insert(tx, ctx, p)
	})
}

// update reads policy id of envID and writes apply's changes over it. The
// lock comes before the row, whether or not the default moves: a writer
// moving the default holds it, and taking the two in one order cannot
// deadlock. apply validates inside the transaction, so that what it
// checks against stays as read until the write commits.
func (c defaultedPolicies[P]) update(ctx context.Context, st store.Store, envID, id string, apply func(tx store.Store, p *P) error) (*P, error) {
	var p *P
	err := st.Tx(ctx, func(tx store.Store) error {
		if err := c.lock(tx, ctx, envID); err != nil {
			return err
		}
		var err error
		if p, err = c.read(tx, ctx, envID, id); err != nil {
			return err
		}
		if err := apply(tx, p); err != nil {
			return err
		}
		c.touch(p)
		if id, def := c.head(p); def {
			if err := c.clearDefault(tx, ctx, envID, id); err != nil {
				return err
			}
		}
		return c.write(tx, ctx, p)
	})
	return p, err
}

// delete removes policy id of envID unless it is the default or inUse
// refuses it. Reading the policy first locks its row, without the
// collection's lock: a write naming the policy waits, and then finds it
// gone.
func (c defaultedPolicies[P]) delete(ctx context.Context, st store.Store, envID, id string, inUse func(tx store.Store, p *P) error) error {
	return st.Tx(ctx, func(tx store.Store) error {
		p, err := c.read(tx, ctx, envID, id)
		if err != nil {
			return err
		}
		pid, def := c.head(p)
		if def {
			return c.refuseDefault()
		}
		if err := inUse(tx, p); err != nil {
			return err
		}
		return c.remove(tx, ctx, envID, pid)
	})
}
