package wire

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// A list written by Write is byte for byte what encoding/json makes of the
// same envelope, whose users go through MarshalJSON: the fast path changes
// the cost, never the answer.
func TestListWriteLikeEncodingJSON(t *testing.T) {
	at := Time(time.Date(2026, 12, 4, 23, 59, 1, 2e6, time.UTC))
	user := func(id string, custom map[string]json.RawMessage) User {
		return User{
			Links:       Links{"self": {Href: "https://h/v1/environments/e/users/" + id}, "password": {Href: "/p?a=1&b=<2>"}},
			ID:          id,
			Environment: Ref{ID: "e"},
			Account:     UserAccount{Status: "OK", CanAuthenticate: true},
			CreatedAt:   at, UpdatedAt: at,
			Email:       "a&b@example.com",
			Enabled:     true,
			Population:  Ref{ID: "p"},
			Username:    "ü<ser>\u2028" + id,
			UserProfile: UserProfile{Name: &UserName{Given: "Ann", Family: "O'Neil"}, Title: "\"Dr\"\t"},
			Custom:      custom,
		}
	}
	cases := []struct {
		name string
		list List
	}{
		{"users", List{
			Links: Links{"self": {Href: "https://h/v1/environments/e/users?limit=2&filter=username%20sw%20%22a%22"}, "next": {Href: "https://h/x?cursor=abc"}},
			Embedded: map[string]any{"users": []any{
				user("u1", nil),
				&[]User{user("u2", map[string]json.RawMessage{"zeta": json.RawMessage(`{ "a" : [1, 2,  "<x>"] }`), "alpha": json.RawMessage(`"\u00e9 & é"`)})}[0],
			}},
			Count: 2, Size: 2,
		}},
		{"empty page", List{Links: Links{"self": {Href: "/x"}}, Embedded: map[string]any{"users": []any{}}, Count: 0, Size: 0}},
		{"nil items", List{Links: Links{"self": {Href: "/x"}}, Embedded: map[string]any{"users": []any(nil)}}},
		{"nil embedded", List{Links: Links{"self": {Href: "/x"}}}},
		{"other items and keys", List{
			Links:    Links{"self": {Href: "/x"}},
			Embedded: map[string]any{"b": []any{Ref{ID: "r<1>"}, map[string]any{"k": 1}, nil, "s"}, "a": []string{"x"}, "c": 3},
			Count:    4, Size: 4,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := strings.TrimSuffix(encode(t, c.list, false), "\n")
			for _, v := range []any{c.list, &c.list} {
				rec := httptest.NewRecorder()
				Write(rec, 200, v)
				if got := rec.Body.String(); got != want {
					t.Errorf("%T:\n got %s\nwant %s", v, got, want)
				}
			}
		})
	}
}

// A custom value that is not JSON fails the response as MarshalJSON's
// error did, rather than writing broken JSON.
func TestListWriteRefusesBrokenCustom(t *testing.T) {
	l := List{Links: Links{}, Embedded: map[string]any{"users": []any{User{Custom: map[string]json.RawMessage{"x": json.RawMessage(`{`)}}}}}
	rec := httptest.NewRecorder()
	Write(rec, 200, l)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), `"x":{`) {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
}

// legacyUserJSON is how a user was written before the list fast path:
// MarshalJSON's bytes, compacted by the encoder that wrote the response.
func legacyUserJSON(t *testing.T, u User) string {
	t.Helper()
	type plain User
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode((*plain)(&u)); err != nil {
		t.Fatal(err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(u.Custom) > 0 {
		names := make([]string, 0, len(u.Custom))
		for k := range u.Custom {
			names = append(names, k)
		}
		slices.Sort(names)
		out = out[:len(out)-1]
		for _, k := range names {
			key, _ := json.Marshal(k)
			out = append(out, ',')
			out = append(out, key...)
			out = append(out, ':')
			out = append(out, u.Custom[k]...)
		}
		out = append(out, '}')
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, out); err != nil {
		t.Fatal(err)
	}
	return compact.String()
}

func TestUserJSONAsBefore(t *testing.T) {
	for _, custom := range []map[string]json.RawMessage{
		nil,
		{"b<2>": json.RawMessage(` [ 1 , {"x" : "<&>"} ] `), "a": json.RawMessage(`"\u2028é"`), "n": json.RawMessage(`null`)},
	} {
		u := User{Links: Links{"self": {Href: "/u?a=<1>&b"}}, ID: "u", Username: "<ü>", Email: "x&y", Custom: custom,
			UserProfile: UserProfile{Name: &UserName{Given: "A\tB"}}}
		want := legacyUserJSON(t, u)
		got, err := u.MarshalJSON()
		if err != nil || string(got) != want {
			t.Errorf("MarshalJSON:\n got %s %v\nwant %s", got, err, want)
		}
		for _, v := range []any{u, &u} {
			rec := httptest.NewRecorder()
			Write(rec, 200, v)
			if rec.Body.String() != want {
				t.Errorf("%T alone:\n got %s\nwant %s", v, rec.Body, want)
			}
		}
		rec := httptest.NewRecorder()
		Write(rec, 200, List{Links: Links{}, Embedded: map[string]any{"users": []any{u}}, Count: 1, Size: 1})
		if w := `{"_links":{},"_embedded":{"users":[` + want + `]},"count":1,"size":1}`; rec.Body.String() != w {
			t.Errorf("in a list:\n got %s\nwant %s", rec.Body, w)
		}
	}
}
