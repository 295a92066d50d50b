package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- Webhook subscriptions and their delivery state (migration 0028).
// The dispatcher's writes are conditional on the lease and on the cursor
// it read, so that a node that lost its lease (a pause longer than the
// lease) writes nothing over the node that took it over.

const subscriptionCols = `id, environment_id, name, enabled, format, url, verify_tls, headers_sealed, data, created_at, updated_at,
 cursor_seq, attempts, next_attempt_at, last_error, last_error_at, last_delivered_at, dead_letters, last_dead_letter_at, lease_owner, lease_until`

func scanSubscription(r scanner) (store.Subscription, error) {
	var x store.Subscription
	var data string
	var c, u, next, errAt, delivered, deadAt, lease int64
	d := &x.Delivery
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Name, &x.Enabled, &x.Format, &x.URL, &x.VerifyTLS, &x.HeadersSealed, &data, &c, &u,
		&d.Cursor, &d.Attempts, &next, &d.LastError, &errAt, &delivered, &d.DeadLetters, &deadAt, &d.LeaseOwner, &lease)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	d.NextAttemptAt, d.LastErrorAt, d.LastDeliveredAt, d.LastDeadLetterAt, d.LeaseUntil = timeIfSet(next), timeIfSet(errAt), timeIfSet(delivered), timeIfSet(deadAt), timeIfSet(lease)
	return x, err
}

func (s *SQLStore) CreateSubscription(ctx context.Context, x *store.Subscription) error {
	d := x.Delivery
	_, err := s.exec(ctx, `INSERT INTO subscriptions (`+subscriptionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.EnvironmentID, x.Name, x.Enabled, x.Format, x.URL, x.VerifyTLS, x.HeadersSealed, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt),
		d.Cursor, d.Attempts, msIfSet(d.NextAttemptAt), d.LastError, msIfSet(d.LastErrorAt), msIfSet(d.LastDeliveredAt), d.DeadLetters,
		msIfSet(d.LastDeadLetterAt), d.LeaseOwner, msIfSet(d.LeaseUntil))
	return mapErr(err, "subscription", "id")
}

func (s *SQLStore) GetSubscription(ctx context.Context, envID, id string) (*store.Subscription, error) {
	return one(ctx, s, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions WHERE environment_id = ? AND id = ?`+s.forUpdate(), envID, id)
}

func (s *SQLStore) ListSubscriptions(ctx context.Context, envID string) ([]store.Subscription, error) {
	return many(ctx, s, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions WHERE environment_id = ? ORDER BY id`, envID)
}

// LockSubscriptions serializes the environment's subscription creates
// (see store.SubscriptionStore).
func (s *SQLStore) LockSubscriptions(ctx context.Context, envID string) error {
	return s.lockEnvironment(ctx, "subscriptions", envID)
}

func (s *SQLStore) CountSubscriptions(ctx context.Context, envID string) (int, error) {
	var n int
	err := s.queryRowDynamic(ctx, `SELECT COUNT(*) FROM subscriptions WHERE environment_id = ?`, envID).Scan(&n)
	return n, err
}

func (s *SQLStore) UpdateSubscription(ctx context.Context, x *store.Subscription) error {
	err := s.execOne(ctx, `UPDATE subscriptions SET name = ?, enabled = ?, format = ?, url = ?, verify_tls = ?, headers_sealed = ?, data = ?, updated_at = ?
 WHERE environment_id = ? AND id = ?`,
		x.Name, x.Enabled, x.Format, x.URL, x.VerifyTLS, x.HeadersSealed, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.ID)
	return err
}

func (s *SQLStore) DeleteSubscription(ctx context.Context, envID, id string) error {
	return s.execOne(ctx, `DELETE FROM subscriptions WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) DueSubscriptions(ctx context.Context, head int64, now time.Time, limit int) ([]store.Subscription, error) {
	return many(ctx, s, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions
 WHERE enabled = ? AND next_attempt_at <= ? AND cursor_seq < ? AND lease_until <= ? ORDER BY next_attempt_at, id LIMIT ?`,
		true, ms(now), head, ms(now), limit)
}

func (s *SQLStore) LeaseSubscription(ctx context.Context, envID, id, owner string, now, until time.Time) error {
	err := s.execOne(ctx, `UPDATE subscriptions SET lease_owner = ?, lease_until = ?
 WHERE environment_id = ? AND id = ? AND (lease_until <= ? OR lease_owner = ?)`, owner, ms(until), envID, id, ms(now), owner)
	return s.conflictOrGone(ctx, err, envID, id)
}

func (s *SQLStore) SaveSubscriptionDelivery(ctx context.Context, envID, id, owner string, from int64, d store.SubscriptionDelivery) error {
	err := s.execOne(ctx, `UPDATE subscriptions SET cursor_seq = ?, attempts = ?, next_attempt_at = ?, last_error = ?, last_error_at = ?,
 last_delivered_at = ?, dead_letters = ?, last_dead_letter_at = ?, lease_owner = ?, lease_until = ?
 WHERE environment_id = ? AND id = ? AND lease_owner = ? AND cursor_seq = ?`,
		d.Cursor, d.Attempts, msIfSet(d.NextAttemptAt), d.LastError, msIfSet(d.LastErrorAt), msIfSet(d.LastDeliveredAt), d.DeadLetters,
		msIfSet(d.LastDeadLetterAt), d.LeaseOwner, msIfSet(d.LeaseUntil), envID, id, owner, from)
	return s.conflictOrGone(ctx, err, envID, id)
}

// conflictOrGone tells a conditional update that matched no row because
// the row is gone (ErrNotFound) from one whose condition failed
// (ErrConflict).
func (s *SQLStore) conflictOrGone(ctx context.Context, err error, envID, id string) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, gerr := s.GetSubscription(ctx, envID, id); gerr != nil {
		return gerr
	}
	return store.ErrConflict
}

func (s *SQLStore) DeadLetterSubscription(ctx context.Context, dl *store.SubscriptionDeadLetter, owner string, from int64, d store.SubscriptionDelivery) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := t.SaveSubscriptionDelivery(ctx, dl.EnvironmentID, dl.SubscriptionID, owner, from, d); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO subscription_dead_letters (id, environment_id, subscription_id, activity_id, seq, attempts, error, created_at)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, dl.ID, dl.EnvironmentID, dl.SubscriptionID, dl.ActivityID, dl.Seq, dl.Attempts, dl.Error, ms(dl.CreatedAt))
		return mapErr(err, "dead letter", "id")
	})
}

func (s *SQLStore) ListSubscriptionDeadLetters(ctx context.Context, envID, subscriptionID string, limit int) ([]store.SubscriptionDeadLetter, error) {
	return many(ctx, s, func(r scanner) (store.SubscriptionDeadLetter, error) {
		var x store.SubscriptionDeadLetter
		var c int64
		err := r.Scan(&x.ID, &x.EnvironmentID, &x.SubscriptionID, &x.ActivityID, &x.Seq, &x.Attempts, &x.Error, &c)
		x.CreatedAt = fromMS(c)
		return x, err
	}, `SELECT id, environment_id, subscription_id, activity_id, seq, attempts, error, created_at FROM subscription_dead_letters
 WHERE environment_id = ? AND subscription_id = ? ORDER BY seq DESC LIMIT ?`, envID, subscriptionID, limit)
}

func (s *SQLStore) EnvironmentActivitiesAfter(ctx context.Context, envID string, after int64, limit int) ([]store.Activity, error) {
	return many(ctx, s, scanActivity, `SELECT `+activityCols+` FROM activities a WHERE a.environment_id = ? AND a.seq > ? ORDER BY a.seq LIMIT ?`,
		envID, after, limit)
}
