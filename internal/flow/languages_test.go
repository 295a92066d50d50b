package flow_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
)

// TestSetLanguages: a flow keeps the browser's languages in order, without
// blanks, duplicates or overlong tags, and at most MaxLanguages of them.
func TestSetLanguages(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = "x-" + strings.Repeat("a", i%30+1)
	}
	for _, c := range []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"fr-CA", " ", "fr", "fr-CA", "en"}, []string{"fr-CA", "fr", "en"}},
		{[]string{strings.Repeat("a", 36), "de"}, []string{"de"}},
		{many, many[:flow.MaxLanguages]},
	} {
		var r flow.Request
		r.SetLanguages(c.in...)
		if !slices.Equal(r.Languages, c.want) {
			t.Errorf("SetLanguages(%v) = %v, want %v", c.in, r.Languages, c.want)
		}
	}
}
