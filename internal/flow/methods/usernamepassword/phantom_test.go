package usernamepassword

import (
	"encoding/json"
	"testing"
	"time"
)

// TestPhantomEviction: a flow keeps at most maxPhantoms unknown usernames'
// counts, dropping the least recently used.
func TestPhantomEviction(t *testing.T) {
	var st state
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range maxPhantoms {
		st.phantom(string(rune('a'+i)), t0.Add(time.Duration(i)*time.Second)).Failures = i + 1
	}
	// Touching "a" makes "b" the least recently used.
	if p := st.phantom("a", t0.Add(time.Hour)); p.Failures != 1 {
		t.Fatalf("a: %+v", p)
	}
	if p := st.phantom("new", t0.Add(2*time.Hour)); p.Failures != 0 {
		t.Fatalf("new: %+v", p)
	}
	if len(st.Phantoms) != maxPhantoms || st.Phantoms["b"] != nil || st.Phantoms["a"] == nil || st.Phantoms["c"] == nil {
		t.Errorf("after eviction: %d kept, b %v, a %v", len(st.Phantoms), st.Phantoms["b"], st.Phantoms["a"])
	}
	// The counts survive the flow's JSON.
	b, err := json.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	var back state
	if err := json.Unmarshal(b, &back); err != nil || back.Phantoms["c"].Failures != 3 {
		t.Errorf("round trip: %v %+v", err, back.Phantoms["c"])
	}
}
