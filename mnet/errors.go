package mnet

// How failures of our own dependencies are answered to MNET peers.

import (
	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// FaultException is the fault code of an exception raised inside a
// called function: Moodle's dispatcher answers the exception's code
// (0 for Moodle's own exceptions, dml_exception included) with its
// message as faultString (docs/protocols.md §2.8, §2.10).
const FaultException = 0

// Messages of the dml exceptions Moodle raises when its database is down
// (dml_connection_exception) or a read fails (dml_read_exception).
const (
	msgDBConnection = "Error: Database connection failed"
	msgDBRead       = "Error reading from database"
)

// outageFault is the fault a Moodle site answers when the database fails
// under an RPC: the dml exception's message with code 0. It is nil when
// err is not an outage (dbconn.Unavailable, or an EUnavailable error).
func outageFault(err error) *Fault {
	err = dbconn.Unavailable(err)
	if aggregation.ErrorCode(err) != aggregation.EUnavailable {
		return nil
	}
	if dbconn.OutageOf(err) == dbconn.ReadFailed {
		return &Fault{Code: FaultException, Message: msgDBRead}
	}
	return &Fault{Code: FaultException, Message: msgDBConnection}
}
