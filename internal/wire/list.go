package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
)

// appender is a wire type that writes its own compact JSON straight into
// the response. encoding/json re-scans and compacts whatever a
// MarshalJSON returns, which for a page of a hundred users was a third
// of the page's cost; an envelope's items that are appenders skip that.
type appender interface {
	appendJSON(buf *bytes.Buffer, enc *json.Encoder) error
}

// encode writes l as encoding/json would (members in declaration order,
// _embedded's keys sorted, HTML left unescaped), one item at a time.
func (l *List) encode(buf *bytes.Buffer, enc *json.Encoder) error {
	if l == nil {
		buf.WriteString("null") // as encoding/json writes a nil pointer
		return nil
	}
	links, err := l.Links.MarshalJSON()
	if err != nil {
		return err
	}
	buf.WriteString(`{"_links":`)
	buf.Write(links)
	buf.WriteString(`,"_embedded":`)
	if l.Embedded == nil {
		buf.WriteString("null")
	} else {
		names := make([]string, 0, len(l.Embedded))
		for k := range l.Embedded {
			names = append(names, k)
		}
		slices.Sort(names)
		buf.WriteByte('{')
		for i, k := range names {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(appendString(buf.AvailableBuffer(), k))
			buf.WriteByte(':')
			if err := encodeItems(buf, enc, l.Embedded[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	}
	buf.WriteString(`,"count":`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(l.Count), 10))
	buf.WriteString(`,"size":`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(l.Size), 10))
	buf.WriteByte('}')
	return nil
}

func encodeItems(buf *bytes.Buffer, enc *json.Encoder, v any) error {
	items, ok := v.([]any)
	if !ok || items == nil {
		return encodeValue(buf, enc, v)
	}
	buf.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		var err error
		if a, ok := asAppender(it); ok {
			err = a.appendJSON(buf, enc)
		} else {
			err = encodeValue(buf, enc, it)
		}
		if err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

// asAppender is v as an appender, unless v is a nil pointer: encoding/json
// writes that as null, where calling its value method would panic.
func asAppender(v any) (appender, bool) {
	a, ok := v.(appender)
	if !ok {
		return nil, false
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, false
	}
	return a, true
}

// encodeValue is enc.Encode without the newline it ends with.
func encodeValue(buf *bytes.Buffer, enc *json.Encoder, v any) error {
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1)
	return nil
}
