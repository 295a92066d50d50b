package scim

import "fmt"

// Error is what every failure caused by the filter returns: Parse's, and the
// store's when the filter names an attribute, operator or value the list does
// not take. The HTTP layer turns it into PingOne's 400 INVALID_REQUEST with a
// detail code INVALID_FILTER and this Message, so Message is written for API
// clients.
//
// A failure that is not the filter's fault (for example a store's
// allow-list that is itself broken) must not be an Error: that is a server
// bug, and reporting it as a bad filter would blame the client.
type Error struct {
	Message             string
	SupportedAttributes []string // set when an attribute is unknown (sorted)
	SupportedOperators  []string // set when an operator is not allowed for the attribute
}

func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}
