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
func Decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	// A NUL reaches no query: PostgreSQL refuses it in text, and that
	// must be the client's 400, not a 500.
	if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(body, []byte(`\u0000`)) {
		return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Message: "The request body must not contain NUL characters."})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil || dec.More() {
		return wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Message: "The request body must be a JSON object."})
	}
	return nil
}

// Field is a text field of an action's body, by its name in errors.
type Field struct {
	Name  string
	Value *string
}

// Require checks that every field is present and not empty, and none is
// longer than MaxFieldBytes: one INVALID_DATA naming each field at fault,
// missing ones first.
func Require(fields ...Field) error {
	var ds []wire.Detail
	for _, f := range fields {
		if f.Value == nil || *f.Value == "" {
			ds = append(ds, wire.Required(f.Name))
		}
	}
	for _, f := range fields {
		if f.Value != nil && len(*f.Value) > MaxFieldBytes {
			ds = append(ds, wire.Detail{Code: wire.DetailSizeLimit, Target: f.Name, Message: fmt.Sprintf("%s is longer than %d bytes.", f.Name, MaxFieldBytes)})
		}
	}
	if len(ds) > 0 {
		return wire.InvalidData(ds...)
	}
	return nil
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
