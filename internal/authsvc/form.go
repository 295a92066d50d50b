package authsvc

import (
	"bytes"
	"net/http"
	"net/url"
	"sync"
)

// formBuffers hold request bodies while they are parsed: every token,
// introspection and revocation request reads one, and io.ReadAll would
// grow a new buffer each time.
var formBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readPostForm is what r.ParseForm does for a form body, with less
// garbage: the body (already bounded by the caller) parsed into
// r.PostForm. A malformed query string still fails, as ParseForm makes
// it; r.Form is left for ParseForm to build should anyone ask for it.
func readPostForm(r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	buf := formBuffers.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		formBuffers.Put(buf)
	}()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return err
	}
	form, err := url.ParseQuery(buf.String())
	if err != nil {
		return err
	}
	if r.URL.RawQuery != "" {
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			return err
		}
	}
	r.PostForm = form
	return nil
}
