package webhook_test

import (
	"context"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// memActivities stands in for the activity store until the activities
// work lands in this branch: Seq ascending in insert order, across
// environments.
type memActivities struct {
	mu   sync.Mutex
	rows []store.Activity
}

func activityStore(store.Store) store.ActivityStore { return &memActivities{} }

func (m *memActivities) InsertActivities(_ context.Context, as []*store.Activity) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range as {
		a.Seq = int64(len(m.rows) + 1)
		m.rows = append(m.rows, *a)
	}
	return nil
}

func (m *memActivities) ActivitiesAfter(_ context.Context, after int64, limit int) ([]store.Activity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []store.Activity{}
	for _, a := range m.rows {
		if a.Seq > after && len(out) < limit {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memActivities) LastActivitySeq(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.rows)), nil
}
