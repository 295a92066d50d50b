package fidotest

import (
	"encoding/json"
	"testing"
)

// TestCreateExcluded: like a real authenticator, Create refuses options
// that exclude a credential it holds for the relying party (the browser's
// InvalidStateError), and ignores excluded credentials of other relying
// parties.
func TestCreateExcluded(t *testing.T) {
	opts := func(rpID string, exclude ...[]byte) []byte {
		var ex []map[string]any
		for _, id := range exclude {
			ex = append(ex, map[string]any{"type": "public-key", "id": b64(id)})
		}
		b, _ := json.Marshal(map[string]any{"rp": map[string]any{"id": rpID, "name": "RP"},
			"user": map[string]any{"id": b64([]byte("user")), "name": "u"}, "challenge": b64([]byte("0123456789abcdef")),
			"excludeCredentials": ex})
		return b
	}
	a := &Authenticator{}
	_, c, err := a.Create(opts("example.test"), CreateOptions{Origin: "https://example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Create(opts("example.test", []byte("another"), c.ID), CreateOptions{Origin: "https://example.test"}); err == nil {
		t.Error("created a credential although the options exclude one the authenticator holds")
	}
	if n := len(a.Credentials()); n != 1 {
		t.Errorf("%d credentials after the refusal, want 1", n)
	}
	if _, _, err := a.Create(opts("other.test", c.ID), CreateOptions{Origin: "https://other.test"}); err != nil {
		t.Errorf("a credential of another relying party excluded: %v", err)
	}
	if _, _, err := (&Authenticator{}).Create(opts("example.test", c.ID), CreateOptions{Origin: "https://example.test"}); err != nil {
		t.Errorf("another authenticator refused: %v", err)
	}
}
