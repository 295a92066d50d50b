package scim

import "fmt"

// Error is what every failure caused by the filter returns (parse or
// compile). The HTTP layer turns it into PingOne's 400 INVALID_REQUEST with a
// detail code INVALID_FILTER and this Message, so Message is written for API
// clients.
//
// Compile returns a plain error instead when the Schema itself is unusable
// (for example a value path template without %s): that is a server bug, and
// reporting it as a bad filter would blame the client.
type Error struct {
	Message             string
	SupportedAttributes []string // set when an attribute is unknown (sorted)
	SupportedOperators  []string // set when an operator is not allowed for the attribute
}

func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}
