package wire

import (
	"net/http/httptest"
	"testing"
)

// A nil *List or *User is written as encoding/json writes it ("null"),
// alone or as a list item, rather than panicking in the fast path.
func TestWriteNilPointersAsEncodingJSON(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{(*List)(nil), `null`},
		{(*User)(nil), `null`},
		{List{Links: Links{}, Embedded: map[string]any{"users": []any{(*User)(nil), User{}}}},
			`{"_links":{},"_embedded":{"users":[null,` + legacyUserJSON(t, User{}) + `]},"count":0,"size":0}`},
	} {
		rec := httptest.NewRecorder()
		Write(rec, 200, c.v)
		if rec.Code != 200 || rec.Body.String() != c.want {
			t.Errorf("%T: %d %s, want %s", c.v, rec.Code, rec.Body, c.want)
		}
	}
}
