package wire

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Top-level error codes (PingOne's platform error codes).
const (
	CodeInvalidData       = "INVALID_DATA"
	CodeInvalidRequest    = "INVALID_REQUEST"
	CodeRequestFailed     = "REQUEST_FAILED"
	CodeAccessFailed      = "ACCESS_FAILED"
	CodeNotFound          = "NOT_FOUND"
	CodeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	CodeRequestLimited    = "REQUEST_LIMITED"
	CodeUnavailable       = "SERVICE_UNAVAILABLE"
	CodeUnexpectedError   = "UNEXPECTED_ERROR"
	CodeUnsupportedMedia  = "INVALID_REQUEST"
	CodeRequestTooLarge   = "INVALID_REQUEST"
	DetailInvalidValue    = "INVALID_VALUE"
	DetailRequiredValue   = "REQUIRED_VALUE"
	DetailUniqueness      = "UNIQUENESS_VIOLATION"
	DetailInvalidFilter   = "INVALID_FILTER"
	DetailSizeLimit       = "SIZE_LIMIT_EXCEEDED"
	DetailInvalidToken    = "INVALID_TOKEN"
	DetailInsufficientPrm = "INSUFFICIENT_PERMISSIONS"
	// The flow API's sign-on errors, as PingOne's clients match on them.
	DetailInvalidCredentials = "INVALID_CREDENTIALS"
	DetailPasswordLockedOut  = "PASSWORD_LOCKED_OUT"
	// DetailLimitExceeded is PingOne's detail of a 429 REQUEST_LIMITED.
	DetailLimitExceeded = "LIMIT_EXCEEDED"
)

// PingOne's messages, word for word where clients match on them.
const (
	MsgInvalidData    = "The request could not be completed. One or more validation errors were in the request."
	MsgInvalidRequest = "The request could not be completed. The request was malformed or invalid."
	MsgNotFound       = "The requested resource was not found."
	MsgAccessFailed   = "The request could not be completed. You do not have access to this resource."
	MsgInvalidToken   = "The request could not be completed. The access token is either missing or invalid, or it has expired."
	MsgUnexpected     = "An unexpected error occurred."
)

// InnerError carries the machine-readable limits of a failed detail.
type InnerError struct {
	AllowedValues       []string `json:"allowedValues,omitempty"`
	AllowedPattern      string   `json:"allowedPattern,omitempty"`
	MaximumValue        *int64   `json:"maximumValue,omitempty"`
	RangeMinimumValue   *int64   `json:"rangeMinimumValue,omitempty"`
	RangeMaximumValue   *int64   `json:"rangeMaximumValue,omitempty"`
	ExistingID          string   `json:"existingId,omitempty"`
	SupportedAttributes []string `json:"supportedAttributes,omitempty"`
	SupportedOperators  []string `json:"supportedOperators,omitempty"`
	// Sign-on flows: attempts left before a password lockout, the seconds
	// until one ends, and the password policy rules a new password failed.
	FailuresRemaining       *int     `json:"failuresRemaining,omitempty"`
	SecondsUntilUnlock      *int     `json:"secondsUntilUnlock,omitempty"`
	UnsatisfiedRequirements []string `json:"unsatisfiedRequirements,omitempty"`
	// RetryAfter is when a rate-limited request may pass again (PingOne's
	// 429 LIMIT_EXCEEDED detail), in the wire's time format.
	RetryAfter string `json:"retryAfter,omitempty"`
}

// Detail is one entry of an error's details.
type Detail struct {
	Code       string      `json:"code"`
	Target     string      `json:"target,omitempty"`
	Message    string      `json:"message"`
	InnerError *InnerError `json:"innerError,omitempty"`
}

// Error is a PingOne error response; it is also a Go error, so services
// return it and one function writes it.
type Error struct {
	Status  int      `json:"-"`
	ID      string   `json:"id"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
	// RetryAfter, in seconds, is sent as Retry-After (429s, 503s).
	RetryAfter int    `json:"-"`
	Allow      string `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Constructors for the errors every endpoint needs.

func NotFound(msg string) *Error {
	if msg == "" {
		msg = MsgNotFound
	}
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: msg}
}

func InvalidData(details ...Detail) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidData, Message: MsgInvalidData, Details: details}
}

func InvalidRequest(details ...Detail) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: MsgInvalidRequest, Details: details}
}

func RequestFailed(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeRequestFailed, Message: msg}
}

func Required(target string) Detail {
	return Detail{Code: DetailRequiredValue, Target: target, Message: "A value is required for " + target + "."}
}

func InvalidValue(target, msg string) Detail {
	return Detail{Code: DetailInvalidValue, Target: target, Message: msg}
}

func OneOf(target string, allowed []string) Detail {
	return Detail{Code: DetailInvalidValue, Target: target, Message: "Invalid value for attribute.", InnerError: &InnerError{AllowedValues: allowed}}
}

func Unauthorized() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeAccessFailed, Message: MsgInvalidToken,
		Details: []Detail{{Code: DetailInvalidToken, Message: "The access token is either missing or invalid, or it has expired."}}}
}

func Forbidden() *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeAccessFailed, Message: MsgAccessFailed,
		Details: []Detail{{Code: DetailInsufficientPrm, Message: "The actor attempting to perform the request does not have the required permissions."}}}
}

func MethodNotAllowed(allow string) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Allow: allow,
		Message: "The request could not be completed. The HTTP method is not supported for this resource."}
}

func UnsupportedMediaType(got string) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia,
		Message: "The request could not be completed. The Content-Type is not supported for this resource.",
		Details: []Detail{InvalidValue("Content-Type", "Unsupported Content-Type "+strconv.Quote(got)+".")}}
}

func TooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestTooLarge,
		Message: "The request could not be completed. The request body is too large.",
		Details: []Detail{{Code: DetailSizeLimit, Message: "The request body exceeds the maximum size.", InnerError: &InnerError{MaximumValue: &limit}}}}
}

// MsgRequestLimited is the message of every 429.
const MsgRequestLimited = "The request could not be completed. Too many requests were made: retry after the delay Retry-After gives."

// RequestLimited is PingOne's 429: REQUEST_LIMITED, one LIMIT_EXCEEDED
// detail saying what was limited (why), Retry-After in seconds and, in
// the detail, the time a retry may pass.
func RequestLimited(why string, retryAfter int, now time.Time) *Error {
	at := now.Add(time.Duration(retryAfter) * time.Second).UTC().Format(TimeFormat)
	return &Error{Status: http.StatusTooManyRequests, Code: CodeRequestLimited, Message: MsgRequestLimited, RetryAfter: retryAfter,
		Details: []Detail{{Code: DetailLimitExceeded, Message: why, InnerError: &InnerError{RetryAfter: at}}}}
}

// Unavailable is 503: the server is at capacity; retry after retryAfter
// seconds (PingOne's SDK honours Retry-After on 503s).
func Unavailable(msg string, retryAfter int) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: msg, RetryAfter: retryAfter}
}

func Unexpected() *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeUnexpectedError, Message: MsgUnexpected}
}

// Classifier turns a domain error into a wire error; the app installs one
// that knows the store's and the filter parser's errors. It returns nil for
// errors it does not know.
type Classifier func(error) *Error

// classifier holds the installed Classifier; atomic because every server
// (tests start many at once) installs the same one while others serve.
var classifier atomic.Pointer[Classifier]

// SetClassifier installs c.
func SetClassifier(c Classifier) { classifier.Store(&c) }

func classify(err error) *Error {
	if c := classifier.Load(); c != nil {
		return (*c)(err)
	}
	return nil
}

// WriteError writes err as PingOne's error body. Unknown errors become 500
// UNEXPECTED_ERROR with a fresh id that is also logged, and nothing of the
// error's text reaches the client.
func WriteError(w http.ResponseWriter, err error) {
	WriteErrorCtx(context.Background(), w, err)
}

func WriteErrorCtx(ctx context.Context, w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = classify(err)
	}
	if e == nil {
		e = Unexpected()
		e.ID = uuid.NewString()
		slog.ErrorContext(ctx, "unexpected error", "errorId", e.ID, "err", err)
	} else {
		c := *e
		e = &c
		if e.ID == "" {
			e.ID = uuid.NewString()
		}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Allow != "" {
		w.Header().Set("Allow", e.Allow)
	}
	Write(w, e.Status, e)
}
