package moodle

import (
	"context"
	"database/sql"
	"fmt"
)

// Capabilities Moodle's REST server checks for a token's user.
const (
	CapRESTUse           = "webservice/rest:use"
	CapMaintenanceAccess = "moodle/site:maintenanceaccess"
)

// WSRefusal is Moodle's refusal of a web-service call, with the PHP
// exception class, error code and English message its REST server
// answers with. Edges write it as it is.
type WSRefusal struct {
	Class     string // "moodle_exception", "webservice_access_exception", …
	ErrorCode string // "invalidtoken", "accessexception", "wsaccessuserunconfirmed", …
	Message   string
	DebugInfo string
}

// Error implements error.
func (r *WSRefusal) Error() string {
	s := "web-service token refused: " + r.Class + " (" + r.ErrorCode + "): " + r.Message
	if r.DebugInfo != "" {
		s += ": " + r.DebugInfo
	}
	return s
}

// The refusals of the REST server's token checks.
func refuseToken() *WSRefusal {
	return &WSRefusal{Class: "moodle_exception", ErrorCode: "invalidtoken", Message: "Invalid token - token not found"}
}

func refuseAccess(debug string) *WSRefusal {
	return &WSRefusal{Class: "webservice_access_exception", ErrorCode: "accessexception",
		Message: "Access control exception", DebugInfo: debug}
}

// WSAccess is what a Moodle web-service token that passed every check of
// Moodle's REST server may do.
type WSAccess struct {
	Token WSToken
	User  User
	// Functions are those of the asked-for functions that the token's
	// service offers this user (enabled service listing the function;
	// for a service restricted to listed users, the user listed with a
	// valid allowance from this address; the service's required
	// capability held). A call of any other function is refused with
	// Moodle's "Access to the function … is not allowed".
	Functions []string
	// SystemContext reports whether the token is bound to the system
	// context. A token bound to a course or category context may only run
	// functions in that context; block_use_stats' functions run in the
	// system context, so Moodle refuses them such a token
	// (restricted_context_exception).
	SystemContext bool
}

// AuthenticateWSToken checks a web-service token the way Moodle's REST
// server does before it runs a function, in its order:
//
//  1. a permanent token with exactly this value (else invalidtoken);
//  2. validuntil not passed;
//  3. no browser session (sid): usestats cannot see PHP sessions, so a
//     session-bound token is refused as Moodle refuses an expired one;
//  4. the client address ip within the token's IP restriction;
//  5. the token's user exists;
//  6. the site is not in maintenance mode (config maintenance_enabled),
//     unless the user holds moodle/site:maintenanceaccess;
//  7. the user is not deleted, is confirmed, not suspended and not of the
//     nologin authentication (Moodle's "Refused web service access for …"
//     refusals: moodle_exception wsaccessuserunconfirmed for an
//     unconfirmed user, webservice_access_exception for the others);
//  8. the user holds webservice/rest:use;
//
// then, for each function asked about, the service rules that decide
// which functions may run (see WSAccess.Functions). now is Unix seconds.
// Moodle's refusals are *WSRefusal errors; a failure to read the
// database is any other error. Capabilities are evaluated at the system
// context (see HasSystemCapability), where tokens are normally created.
// Nothing is written: the token's lastaccess is left alone and an
// expired token is not deleted. Password expiry, which Moodle asks of the
// user's authentication plugin, is not checked.
func (s *Source) AuthenticateWSToken(ctx context.Context, token, ip string, now int64, functions []string) (WSAccess, error) {
	t, ok, err := s.ExternalToken(ctx, token)
	switch {
	case err != nil:
		return WSAccess{}, err
	case !ok || t.TokenType != TokenPermanent:
		return WSAccess{}, refuseToken()
	case t.Expired(now):
		return WSAccess{}, refuseAccess("Invalid token - token expired - check validuntil time for the token")
	case t.SID != "":
		return WSAccess{}, refuseAccess("Invalid session based token - session not found or expired")
	case !CheckIPRestriction(t.IPRestriction, ip):
		return WSAccess{}, refuseAccess("Invalid service - IP:" + ip + " is not supported - check this allowed user")
	}
	users, err := s.Users(ctx, []int64{t.UserID})
	if err != nil {
		return WSAccess{}, err
	}
	u, ok := users[t.UserID]
	if !ok {
		return WSAccess{}, &WSRefusal{Class: "dml_missing_record_exception", ErrorCode: "invalidrecord",
			Message: "Can't find data record in database table user."}
	}
	maintenance, _, err := s.configInt(ctx, "maintenance_enabled")
	if err != nil {
		return WSAccess{}, err
	}
	if maintenance != 0 {
		can, err := s.HasSystemCapability(ctx, u.ID, CapMaintenanceAccess)
		if err != nil {
			return WSAccess{}, err
		}
		if !can {
			return WSAccess{}, &WSRefusal{Class: "moodle_exception", ErrorCode: "sitemaintenance",
				Message: "The site is undergoing maintenance and is currently not available"}
		}
	}
	switch {
	case u.Deleted != 0:
		return WSAccess{}, refuseAccess("Refused web service access for deleted username: " + u.Username)
	case u.Confirmed == 0:
		return WSAccess{}, &WSRefusal{Class: "moodle_exception", ErrorCode: "wsaccessuserunconfirmed",
			Message: "Refused web service access for unconfirmed username: " + u.Username}
	case u.Suspended != 0:
		return WSAccess{}, refuseAccess("Refused web service access for suspended username: " + u.Username)
	case u.Auth == "nologin":
		return WSAccess{}, refuseAccess("Refused web service access for nologin authentication username: " + u.Username)
	}
	can, err := s.HasSystemCapability(ctx, u.ID, CapRESTUse)
	if err != nil {
		return WSAccess{}, err
	}
	if !can {
		return WSAccess{}, refuseAccess("You are not allowed to use the rest protocol (missing capability: " + CapRESTUse + ")")
	}
	sys, err := s.systemContextID(ctx)
	if err != nil {
		return WSAccess{}, err
	}
	a := WSAccess{Token: t, User: *u, Functions: []string{}, SystemContext: t.ContextID == sys}
	open, err := s.serviceOpen(ctx, t, u.ID, ip, now)
	if err != nil || !open {
		return a, err
	}
	for _, f := range functions {
		has, err := s.ServiceHasFunction(ctx, t.ServiceID, f)
		if err != nil {
			return WSAccess{}, err
		}
		if has {
			a.Functions = append(a.Functions, f)
		}
	}
	return a, nil
}

// serviceOpen reports whether the token's service lets the user call its
// functions at all: enabled; if restricted to listed users, the user
// listed, the allowance not expired and the address within its IP
// restriction; the service's required capability held.
func (s *Source) serviceOpen(ctx context.Context, t WSToken, userID int64, ip string, now int64) (bool, error) {
	if !t.ServiceEnabled {
		return false, nil
	}
	if t.RestrictedUsers {
		su, ok, err := s.ServiceUser(ctx, t.ServiceID, userID)
		if err != nil || !ok {
			return false, err
		}
		// Moodle's function lookup compares validuntil the wrong way round
		// (only allowances that have already expired pass); an allowance
		// is honoured here until its validuntil, as Moodle's own
		// documentation of the field says.
		if su.ValidUntil != 0 && su.ValidUntil < now {
			return false, nil
		}
		if !CheckIPRestriction(su.IPRestriction, ip) {
			return false, nil
		}
	}
	if t.RequiredCapability != "" {
		return s.HasSystemCapability(ctx, userID, t.RequiredCapability)
	}
	return true, nil
}

// ServiceUser is a row of external_services_users: a user allowed on a
// service restricted to listed users.
type ServiceUser struct {
	ServiceID     int64
	UserID        int64
	IPRestriction string // "" for none
	ValidUntil    int64  // 0 = never
}

// ServiceUser returns the allowance of the user on the service; ok is
// false when the user is not listed. A missing table is an ENotFound
// error.
func (s *Source) ServiceUser(ctx context.Context, serviceID, userID int64) (ServiceUser, bool, error) {
	var rows []struct {
		IPRestriction sql.NullString `bun:"iprestriction"`
		ValidUntil    sql.NullInt64  `bun:"validuntil"`
	}
	err := s.db.NewSelect().TableExpr("?", s.table("external_services_users")).
		ColumnExpr("iprestriction, validuntil").
		Where("externalserviceid = ?", serviceID).Where("userid = ?", userID).
		OrderExpr("id").Limit(1).Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		return ServiceUser{}, false, s.readErr(ctx, "external_services_users",
			fmt.Sprintf("reading the allowed users of web service %d", serviceID), err)
	}
	if len(rows) == 0 {
		return ServiceUser{}, false, nil
	}
	return ServiceUser{ServiceID: serviceID, UserID: userID,
		IPRestriction: rows[0].IPRestriction.String, ValidUntil: rows[0].ValidUntil.Int64}, true, nil
}
