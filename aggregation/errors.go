package aggregation

import (
	"errors"
	"fmt"
)

// Error codes shared by every edge (GraphQL, MNET, web services, CLI). Each
// edge maps them to its own vocabulary exactly once.
const (
	EInvalid         = "invalid"         // the caller's input is wrong
	ENotFound        = "not_found"       // a user, course or policy does not exist
	EUnauthenticated = "unauthenticated" // no or bad credential
	EForbidden       = "forbidden"       // credential valid, access denied
	EUnavailable     = "unavailable"     // a dependency (database, peer) cannot be reached
	EInternal        = "internal"        // a bug or an unexpected failure
)

// Error is an application error with a stable code and a message that is
// safe to show to the caller.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain, or a generic text for other errors (whose details must be logged,
// never sent).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
