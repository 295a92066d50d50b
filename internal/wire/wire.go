// Package wire holds PingOne's JSON shapes: HAL links, list envelopes, the
// error body and the timestamp format. Every response Gatehouse writes goes
// through here, so PingOne's SDK (which rejects application/hal+json and
// decodes P1Error bodies) always sees the same bytes PingOne would send.
package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// ContentType is what every JSON response carries.
const ContentType = "application/json"

// TimeFormat is PingOne's: UTC RFC 3339 with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Time marshals as PingOne's timestamp.
type Time time.Time

func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeFormat)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, TimeFormat)
	return append(b, '"'), nil
}

func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = Time(v.UTC())
	return nil
}

// TimePtr is for optional timestamps.
func TimePtr(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	v := Time(t)
	return &v
}

// Href is a HAL link.
type Href struct {
	Href string `json:"href"`
}

// Links is a HAL _links object.
type Links map[string]Href

// Ref is PingOne's reference to another resource: {"id": "…"}.
type Ref struct {
	ID string `json:"id"`
}

// List is PingOne's collection envelope. The collection name is the single
// key inside _embedded.
type List struct {
	Links    Links          `json:"_links"`
	Embedded map[string]any `json:"_embedded"`
	Count    int            `json:"count"`
	Size     int            `json:"size"`
}

// Write sends v as JSON with status.
func Write(w http.ResponseWriter, status int, v any) {
	// PingOne writes hrefs with a plain "&", not "\u0026".
	buf := getBuffer()
	defer putBuffer(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	var err error
	switch l := v.(type) {
	case *List:
		err = l.encode(buf, enc)
	case List:
		err = l.encode(buf, enc)
	default:
		if a, ok := asAppender(v); ok {
			err = a.appendJSON(buf, enc)
		} else {
			err = enc.Encode(v)
		}
	}
	if err != nil {
		WriteError(w, errors.Join(errors.New("wire: encode response"), err))
		return
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// buffers are the encoding buffers of responses: a response grows one to
// its size, and the next reuses it rather than growing its own again.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

// putBuffer takes buf back once nothing refers to its bytes (a
// ResponseWriter copies what it is given). Buffers grown by a large
// response (a page of a thousand users) are left to the collector.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 512<<10 {
		return
	}
	buf.Reset()
	buffers.Put(buf)
}

// NoContent answers 204 with no body.
func NoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// Cursor encoding keeps cursors opaque to clients while they stay a keyset
// position (the last id of the previous page) to the store.
func EncodeCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastID))
}

func DecodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	// The cursor becomes a query argument: bytes PostgreSQL cannot hold in
	// text (invalid UTF-8, NUL) would fail there as a 500, not as a bad cursor.
	if err != nil || len(b) == 0 || len(b) > 64 || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", false
	}
	return string(b), true
}

// NextHref returns the absolute link to the page after lastID, keeping the
// request's other query parameters (filter, limit) so the SDK, which follows
// _links.next verbatim, gets the same filter on every page.
func NextHref(base string, q url.Values, lastID string) string {
	n := url.Values{}
	for k, v := range q {
		n[k] = v
	}
	n.Set("cursor", EncodeCursor(lastID))
	return base + "?" + n.Encode()
}

// SelfHref is the absolute link to the current request's page.
func SelfHref(base string, q url.Values) string {
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}
