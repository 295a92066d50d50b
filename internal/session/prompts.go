package session

import (
	"encoding/json"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A session remembers when its user was last asked for something they
// could decline (the optional attributes of a progressive profiling
// action), by kind, so that a later sign-on in the same browser does not
// ask again before the interval the policy sets.

// PromptedAt is when sess's user was last asked for kind; ok is false
// when never in this session.
func PromptedAt(sess *store.Session, kind string) (at time.Time, ok bool) {
	var d struct {
		PromptedAt map[string]int64 `json:"promptedAt"`
	}
	if len(sess.Data) == 0 || json.Unmarshal(sess.Data, &d) != nil {
		return time.Time{}, false
	}
	t, ok := d.PromptedAt[kind]
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(t, 0).UTC(), true
}

// Prompted records in sess (not yet written) that its user was asked for
// kind at now; the other members of its Data are kept.
func Prompted(sess *store.Session, kind string, now time.Time) error {
	m := map[string]json.RawMessage{}
	if len(sess.Data) > 0 && json.Unmarshal(sess.Data, &m) != nil {
		m = map[string]json.RawMessage{} // damaged: start over rather than fail the sign-on
	}
	at := map[string]int64{}
	if v, ok := m["promptedAt"]; ok {
		_ = json.Unmarshal(v, &at) // a damaged record is rewritten
	}
	at[kind] = now.Unix()
	b, err := json.Marshal(at)
	if err != nil {
		return err
	}
	m["promptedAt"] = b
	sess.Data, err = json.Marshal(m)
	return err
}
