package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// MaxFieldBytes bounds a text field of an action's body (a password
// policy allows 255 characters; what is hashed stays small).
const MaxFieldBytes = 1024

func notAllowed(act, status string, ok []string) error {
	types := make([]string, len(ok))
	for i, a := range ok {
		types[i] = MediaType(a)
	}
	d := wire.Detail{Code: wire.DetailInvalidValue, Target: "Content-Type",
		Message: fmt.Sprintf("The action %s is not allowed when the flow status is %s.", act, status)}
	if len(ok) == 0 {
		// No allowedValues to list: an empty innerError object would only
		// puzzle clients.
		d.Message = fmt.Sprintf("The flow status is %s: it takes no more actions.", status)
	} else {
		d.InnerError = &wire.InnerError{AllowedValues: types}
	}
	return wire.InvalidRequest(d)
}

// Decode reads an action's JSON object; an empty body is an empty object.
// Text that is not UTF-8 and nesting too deep are refused first
// (wire.CheckJSON), naming the field.
func Decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := wire.CheckJSON(body); err != nil {
		return err
	}
	// A NUL reaches no query: PostgreSQL refuses it in text, and that
	// must be the client's 400, not a 500.
	if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(body, []byte(`\u0000`)) {
		return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Message: "The request body must not contain NUL characters."})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil || dec.More() {
		return errNotObject
	}
	return nil
}

var errNotObject = wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Message: "The request body must be a JSON object."})

// Fields reads an action's JSON object and its text fields: each of
// required must be present and not empty, and none of them longer than
// MaxFieldBytes (one INVALID_DATA naming each field at fault, missing
// ones first); optional ones are read when present. A field that is not
// text makes the body invalid, as a malformed one; other members are
// ignored. Absent fields read "".
func Fields(body []byte, required []string, optional ...string) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := Decode(body, &raw); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range slices.Concat(required, optional) {
		var v *string
		if b, ok := raw[name]; ok {
			if err := json.Unmarshal(b, &v); err != nil {
				return nil, errNotObject
			}
		}
		if v != nil {
			out[name] = *v
		}
	}
	var ds []wire.Detail
	for _, name := range required {
		if out[name] == "" {
			ds = append(ds, wire.Required(name))
		}
	}
	for _, name := range required {
		if len(out[name]) > MaxFieldBytes {
			ds = append(ds, wire.Detail{Code: wire.DetailSizeLimit, Target: name, Message: fmt.Sprintf("%s is longer than %d bytes.", name, MaxFieldBytes)})
		}
	}
	if len(ds) > 0 {
		return nil, wire.InvalidData(ds...)
	}
	return out, nil
}

// PasswordRejected is PingOne's answer to a new password the policy
// rejects: INVALID_VALUE on the field, the rules in unsatisfiedRequirements.
func PasswordRejected(target string, vs []password.Violation) error {
	rules := make([]string, 0, len(vs))
	msgs := make([]string, 0, len(vs))
	for _, v := range vs {
		if !slices.Contains(rules, v.Rule) {
			rules = append(rules, v.Rule)
		}
		msgs = append(msgs, v.Message)
	}
	return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Target: target, Message: strings.Join(msgs, " "),
		InnerError: &wire.InnerError{UnsatisfiedRequirements: rules}})
}
