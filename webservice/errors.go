package webservice

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// Exception is a Moodle web-service exception as the REST server writes
// it: the PHP class, the error code, the localised message and the
// optional debug information.
type Exception struct {
	Class     string // PHP exception class, e.g. "invalid_parameter_exception"
	ErrorCode string // string key, e.g. "invalidparameter"; "" writes no errorcode
	Message   string
	DebugInfo string // "" writes no debuginfo
	cause     error
	// conceal marks an answer that tells whether a user or course exists
	// or who takes part in a course; a principal that does not export
	// every user gets concealed() instead, so it cannot enumerate them.
	conceal bool
}

// Error implements error.
func (e *Exception) Error() string {
	s := e.Class + " (" + e.ErrorCode + "): " + e.Message
	if e.DebugInfo != "" {
		s += ": " + e.DebugInfo
	}
	return s
}

// Unwrap returns the error that caused the exception, if any.
func (e *Exception) Unwrap() error { return e.cause }

// Moodle's exception classes, error codes and messages used here.
const (
	msgInvalidParameter  = "Invalid parameter value detected"
	msgInvalidToken      = "Invalid token - token not found"
	msgAccess            = "Access control exception"
	msgMissingRecord     = "Can't find data record in database table external_functions."
	msgNoPermissions     = "Sorry, but you do not currently have permissions to do that (%s)."
	msgDBConnection      = "Error: Database connection failed"
	msgDBRead            = "Error reading from database"
	msgGeneral           = "Exception - %s"
	msgRestrictedContext = "Sorry, execution of external function violates context restriction."
	capExport            = "block/use_stats:export"
)

// invalidParameter is invalid_parameter_exception with its debuginfo.
func invalidParameter(debug string) *Exception {
	return &Exception{Class: "invalid_parameter_exception", ErrorCode: "invalidparameter", Message: msgInvalidParameter, DebugInfo: debug}
}

// invalidParameterf formats the debuginfo of an invalid_parameter_exception.
func invalidParameterf(format string, args ...any) *Exception {
	return invalidParameter(fmt.Sprintf(format, args...))
}

// invalidToken is the moodle_exception for an unknown token.
func invalidToken() *Exception {
	return &Exception{Class: "moodle_exception", ErrorCode: "invalidtoken", Message: msgInvalidToken}
}

// accessException is webservice_access_exception.
func accessException(debug string) *Exception {
	return &Exception{Class: "webservice_access_exception", ErrorCode: "accessexception", Message: msgAccess, DebugInfo: debug}
}

// functionNotAllowed is the access exception for a function the token's
// service does not offer.
func functionNotAllowed(name string) *Exception {
	return accessException("Access to the function " + name + "() is not allowed. " +
		"The service linked to the token does not contain this function, " +
		"or the token or service is restricted (users, IP address, validity) " +
		"or requires a capability the user does not have.")
}

// unknownFunction is the dml_missing_record_exception Moodle raises for a
// function name that is not in external_functions.
func unknownFunction(name string) *Exception {
	return &Exception{
		Class: "dml_missing_record_exception", ErrorCode: "invalidrecord", Message: msgMissingRecord,
		DebugInfo: "SELECT * FROM {external_functions} WHERE name = ?\n[array (\n  0 => '" + echo(name) + "',\n)]",
	}
}

// noPermission is required_capability_exception for a user or course the
// principal may not read.
func noPermission(debug string) *Exception {
	return &Exception{
		Class: "required_capability_exception", ErrorCode: "nopermissions",
		Message: fmt.Sprintf(msgNoPermissions, capExport), DebugInfo: debug,
	}
}

// concealed is the one answer a principal that does not export every
// user gets for a user or course it may not read, whether or not it
// exists.
func concealed(cause error) *Exception {
	e := noPermission("The token may not read the statistics asked for.")
	e.cause = cause
	return e
}

// lookupFailure marks e as telling about the site's users or courses.
func lookupFailure(e *Exception) *Exception {
	e.conceal = true
	return e
}

// restrictedContext is Moodle's restricted_context_exception, for a
// token bound to a context in which a function cannot run.
func restrictedContext() *Exception {
	return &Exception{Class: "restricted_context_exception", ErrorCode: "restrictedcontextexception",
		Message: msgRestrictedContext}
}

// internalError hides an unexpected failure behind a generic exception.
func internalError(err error) *Exception {
	return &Exception{Class: "moodle_exception", ErrorCode: "generalexceptionmessage",
		Message: fmt.Sprintf(msgGeneral, "internal error"), cause: err}
}

// timedOut is the exception of a call that ran past its deadline. One
// that was waiting for a database (ex is an outage, the context's own
// deadline included: the time goes to reading the log) is Moodle's
// dml_read_exception, as a statement Moodle's server stopped would be;
// the debuginfo says it was the deadline. The caller logs the cause.
func timedOut(d time.Duration, ex *Exception) *Exception {
	const advice = "Ask for fewer users per call, or a shorter period."
	if ex != nil && ex.outage() {
		return &Exception{Class: "dml_read_exception", ErrorCode: "dmlreadexception", Message: msgDBRead,
			DebugInfo: "The call took longer than " + d.String() + ". " + advice}
	}
	return &Exception{Class: "moodle_exception", ErrorCode: "generalexceptionmessage",
		Message: fmt.Sprintf(msgGeneral, "the call took longer than "+d.String()), DebugInfo: advice}
}

// unavailable is the exception for a dependency that cannot be reached or
// did not answer, in Moodle's dml_exception family: a statement that was
// cut short (a broken connection, a statement or socket timeout, a locked
// file) is dml_read_exception (dmlreadexception); anything else (no
// connection, a closed pool, another unavailable dependency) is
// dml_connection_exception (dbconnectionfailed). No debuginfo: the
// driver's text names hosts and queries (it is logged).
func unavailable(err error) *Exception {
	if dbconn.OutageOf(err) == dbconn.ReadFailed {
		return &Exception{Class: "dml_read_exception", ErrorCode: "dmlreadexception", Message: msgDBRead, cause: err}
	}
	return &Exception{Class: "dml_connection_exception", ErrorCode: "dbconnectionfailed", Message: msgDBConnection, cause: err}
}

// outage reports an exception made by unavailable.
func (e *Exception) outage() bool {
	return e.ErrorCode == "dbconnectionfailed" || e.ErrorCode == "dmlreadexception"
}

// authException maps an error of Config.Authenticate to Moodle's token
// exceptions: EUnauthenticated → invalidtoken; EForbidden →
// webservice_access_exception whose debuginfo is the error's message
// (expired token, IP restriction, …); EUnavailable → dbconnectionfailed;
// anything else (ENotFound, EInvalid included: a token store that cannot
// be read is not the caller's fault) → internal error, logged. A driver
// or network error of a database that is down or hung counts as
// EUnavailable (dbconn.Unavailable).
func authException(err error) *Exception {
	var ex *Exception
	if errors.As(err, &ex) {
		return ex
	}
	err = dbconn.Unavailable(err)
	switch aggregation.ErrorCode(err) {
	case aggregation.EUnauthenticated:
		e := invalidToken()
		e.cause = err
		return e
	case aggregation.EForbidden:
		e := accessException(aggregation.ErrorMessage(err))
		e.cause = err
		return e
	case aggregation.EUnavailable:
		return unavailable(err)
	}
	return internalError(err)
}

// callException maps an error returned while a function runs; as in
// authException, an outage counts as EUnavailable.
func callException(err error) *Exception {
	var ex *Exception
	if errors.As(err, &ex) {
		return ex
	}
	err = dbconn.Unavailable(err)
	switch aggregation.ErrorCode(err) {
	case aggregation.EInvalid, aggregation.ENotFound:
		return &Exception{Class: "invalid_parameter_exception", ErrorCode: "invalidparameter",
			Message: msgInvalidParameter, DebugInfo: truncate(aggregation.ErrorMessage(err), 200), cause: err}
	case aggregation.EForbidden, aggregation.EUnauthenticated:
		e := noPermission(aggregation.ErrorMessage(err))
		e.cause = err
		return e
	case aggregation.EUnavailable:
		return unavailable(err)
	}
	return internalError(err)
}

// wrapKey prefixes a nested validation error with the key it occurred
// under, as external_api::validate_parameters does:
// "key => <message>: <debuginfo>".
func wrapKey(key string, e *Exception) *Exception {
	return invalidParameter(echo(key) + " => " + e.Message + ": " + e.DebugInfo)
}

// joinKeys lists keys as Moodle's "Unexpected keys (a, b)" does, each
// key and the whole list cut to a prefix.
func joinKeys(keys []string) string {
	short := make([]string, 0, min(len(keys), 8))
	for _, k := range keys[:min(len(keys), 8)] {
		short = append(short, echo(k))
	}
	s := strings.Join(short, ", ")
	if len(keys) > len(short) {
		s += fmt.Sprintf(", … (%d keys)", len(keys))
	}
	return s
}
