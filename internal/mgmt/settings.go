package mgmt

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Records' settings are decoded by internal/config, one decoder per kind,
// where a handler has read the record; renderers take the decoded view. A
// record whose settings do not decode is an error, never a body with
// defaults.

// writeDecoded writes the rendering of rec once its settings decode.
func writeDecoded[R, V, O any](w http.ResponseWriter, status int, rec *R, decode func(*R) (*V, error), render func(*V) O) error {
	v, err := decode(rec)
	if err != nil {
		return err
	}
	wire.Write(w, status, render(v))
	return nil
}

// decodedPage fetches a page of records for pageOf and decodes their
// settings.
func decodedPage[R, V any](fetch func(store.Page) ([]R, int, error), decode func(*R) (*V, error)) func(store.Page) ([]V, int, error) {
	return func(p store.Page) ([]V, int, error) {
		recs, total, err := fetch(p)
		if err != nil {
			return nil, 0, err
		}
		views, err := config.DecodeAll(recs, decode)
		return views, total, err
	}
}

// renderDecoded renders every record of a collection once all their
// settings decode.
func renderDecoded[R, V, O any](recs []R, decode func(*R) (*V, error), render func(*V) O) ([]any, error) {
	views, err := config.DecodeAll(recs, decode)
	if err != nil {
		return nil, err
	}
	return renderAll(views, render), nil
}
