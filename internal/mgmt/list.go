package mgmt

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// pageOf serves one page of a filtered, cursor-paged collection: it parses
// limit, cursor and filter, asks the store for one row past the limit to
// learn whether a next page exists, and renders the envelope. The store
// checks the filter against the list's own attributes (and refuses one it
// does not take with a *scim.Error before reading anything).
func pageOf[T any](r *http.Request, base, name string, ids []string,
	fetch func(store.Page) ([]T, int, error), id func(*T) string, render func(*T) any) (*wire.List, error) {
	q := r.URL.Query()
	p, err := listParams(q)
	if err != nil {
		return nil, err
	}
	if f := q.Get("filter"); f != "" {
		if p.Filter, err = scim.Parse(f); err != nil {
			return nil, err
		}
	}
	p.IDs = ids
	limit := p.Limit
	p.Limit = limit + 1
	items, total, err := fetch(p)
	if err != nil {
		return nil, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	out := renderAll(items, render)
	last := ""
	if len(items) > 0 {
		last = id(&items[len(items)-1])
	}
	body := listBody(base, q, name, out, last, more, len(out), total)
	return &body, nil
}

// wholeList is the envelope of a collection served in one page (the small,
// per-parent collections: scopes, grants, keys…).
func wholeList(self, name string, items []any) wire.List {
	return wire.List{Links: wire.Links{"self": {Href: self}}, Embedded: map[string]any{name: items}, Count: len(items), Size: len(items)}
}

// renderAll renders every item of a collection for its envelope.
func renderAll[T, R any](xs []T, render func(*T) R) []any {
	out := make([]any, len(xs))
	for i := range xs {
		out[i] = render(&xs[i])
	}
	return out
}
