package moodle

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

// Moodle's permission values (role_capabilities.permission).
const (
	CapInherit  = 0
	CapAllow    = 1
	CapPrevent  = -1
	CapProhibit = -1000
)

// contextLevelSystem is context.contextlevel of the system context.
const contextLevelSystem = 10

// readErr wraps the failure of a read of table. A missing table (an old or
// partial schema) becomes checkTable's ENotFound error naming it; any other
// failure keeps its cause.
func (s *Source) readErr(ctx context.Context, table, what string, err error) error {
	if ctx.Err() == nil && isMissingTable(err) {
		if terr := s.checkTable(ctx, table); terr != nil {
			err = terr
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Config returns the site setting name as stored in the config table (a
// value forced in Moodle's config.php is not visible to the database). ok
// is false when no row has exactly that name (compared byte for byte, also
// under MariaDB's case-insensitive collations).
func (s *Source) Config(ctx context.Context, name string) (value string, ok bool, err error) {
	var rows []ConfigSetting
	if err := s.db.NewSelect().Model(&rows).ModelTableExpr(s.tableAs("config", "cfg")).
		Where("name = ?", name).OrderExpr("id").Scan(ctx); err != nil {
		return "", false, s.readErr(ctx, "config", fmt.Sprintf("reading config %q", name), err)
	}
	for _, r := range rows {
		if r.Name == name {
			return r.Value, true, nil
		}
	}
	return "", false, nil
}

// configInt returns an integer setting; ok is false when it is absent or
// blank, and a value that is not an integer is an EInvalid error.
func (s *Source) configInt(ctx context.Context, name string) (v int64, ok bool, err error) {
	text, ok, err := s.Config(ctx, name)
	text = strings.TrimSpace(text)
	if err != nil || !ok || text == "" {
		return 0, false, err
	}
	v, err = strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, false, aggregation.Errorf(aggregation.EInvalid, "config %s = %q is not an integer", name, text)
	}
	return v, true, nil
}

// LocalHostID returns the id of this site's own mnet_host row (config
// mnet_localhost_id; 1, the install's value, when the setting is absent).
// Local accounts have user.mnethostid equal to it.
func (s *Source) LocalHostID(ctx context.Context) (int64, error) {
	id, ok, err := s.configInt(ctx, "mnet_localhost_id")
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 1, nil
	case id <= 0:
		return 0, aggregation.Errorf(aggregation.EInvalid, "config mnet_localhost_id = %d is not a host id", id)
	}
	return id, nil
}

// MnetHostByWWWRoot returns the non-deleted MNET host whose wwwroot is
// exactly wwwroot (byte for byte: no case folding, no trailing-slash
// tolerance; the lowest id if several). An empty wwwroot, that of the "All
// Hosts" row, never matches.
func (s *Source) MnetHostByWWWRoot(ctx context.Context, wwwroot string) (MnetHost, bool, error) {
	if wwwroot == "" {
		return MnetHost{}, false, nil
	}
	var hosts []MnetHost
	if err := s.db.NewSelect().Model(&hosts).ModelTableExpr(s.tableAs("mnet_host", "mh")).
		Where("deleted = 0").Where("wwwroot = ?", wwwroot).OrderExpr("id").Scan(ctx); err != nil {
		return MnetHost{}, false, s.readErr(ctx, "mnet_host", fmt.Sprintf("reading mnet host %q", wwwroot), err)
	}
	for _, h := range hosts {
		if h.WWWRoot == wwwroot {
			return h, true, nil
		}
	}
	return MnetHost{}, false, nil
}

// HasSystemCapability reports whether the user holds at least one of caps
// at the system context, by Moodle's rules for that context:
//
//   - a missing or deleted user holds nothing (nor does any user when caps
//     is empty);
//   - a user listed in config siteadmins (comma-separated ids) holds every
//     capability;
//   - otherwise the user's roles are those assigned in the system context
//     (the context row of contextlevel 10, looked up) plus the role of
//     config defaultuserroleid (authenticated user), or, for the guest
//     account (username "guest", or the id of config siteguest), the role
//     of config guestroleid instead;
//   - a capability is held when none of those roles has CAP_PROHIBIT
//     (-1000) for it at the system context and the sum of their permissions
//     there (CAP_ALLOW 1, CAP_PREVENT -1, CAP_INHERIT 0 or no row) is
//     positive.
//
// Capability names are compared exactly. Roles assigned in other contexts
// (categories, courses) do not count. Moodle also refuses write and risky
// capabilities to the guest whatever its roles; that needs the capabilities
// table and is not modelled here. Missing tables (config, context,
// role_assignments, role_capabilities) are ENotFound errors.
func (s *Source) HasSystemCapability(ctx context.Context, userID int64, caps ...string) (bool, error) {
	ok, err := s.hasSystemCapability(ctx, userID, caps)
	if err != nil {
		return false, fmt.Errorf("checking the system capabilities of user %d: %w", userID, err)
	}
	return ok, nil
}

func (s *Source) hasSystemCapability(ctx context.Context, userID int64, caps []string) (bool, error) {
	if len(caps) == 0 || userID <= 0 {
		return false, nil
	}
	var users []User
	if err := s.db.NewSelect().Model(&users).ModelTableExpr(s.tableAs("user", "u")).
		Column("id", "deleted", "username").Where("id = ?", userID).Scan(ctx); err != nil {
		return false, s.readErr(ctx, "user", "reading the user", err)
	}
	if len(users) == 0 || users[0].Deleted != 0 {
		return false, nil
	}
	admins, _, err := s.Config(ctx, "siteadmins")
	if err != nil {
		return false, err
	}
	if idListContains(admins, userID) {
		return true, nil
	}
	sys, err := s.systemContextID(ctx)
	if err != nil {
		return false, err
	}
	roles, err := s.systemRoles(ctx, &users[0], sys)
	if err != nil || len(roles) == 0 {
		return false, err
	}
	var perms []RoleCapability
	if err := s.db.NewSelect().Model(&perms).ModelTableExpr(s.tableAs("role_capabilities", "rc")).
		Where("contextid = ?", sys).Where("roleid IN (?)", bun.List(roles)).Where("capability IN (?)", bun.List(caps)).
		OrderExpr("id").Scan(ctx); err != nil {
		return false, s.readErr(ctx, "role_capabilities", "reading role capabilities", err)
	}
	for _, c := range caps {
		sum, prohibited := int64(0), false
		for _, p := range perms {
			if p.Capability != c {
				continue
			}
			if p.Permission == CapProhibit {
				prohibited = true
			}
			sum += p.Permission
		}
		if !prohibited && sum > 0 {
			return true, nil
		}
	}
	return false, nil
}

// systemContextID returns the id of the system context (normally 1),
// read once: Moodle creates it at install and never changes it.
func (s *Source) systemContextID(ctx context.Context) (int64, error) {
	s.mu.Lock()
	id := s.sysCtx
	s.mu.Unlock()
	if id != 0 {
		return id, nil
	}
	var cs []Context
	if err := s.db.NewSelect().Model(&cs).ModelTableExpr(s.tableAs("context", "ctx")).
		Column("id").Where("contextlevel = ?", contextLevelSystem).OrderExpr("id").Limit(1).Scan(ctx); err != nil {
		return 0, s.readErr(ctx, "context", "reading the system context", err)
	}
	if len(cs) == 0 {
		return 0, aggregation.Errorf(aggregation.ENotFound, "table %s has no system context (contextlevel %d)", s.prefix+"context", contextLevelSystem)
	}
	s.mu.Lock()
	s.sysCtx = cs[0].ID
	s.mu.Unlock()
	return cs[0].ID, nil
}

// systemRoles returns the distinct ids of the roles the user has in the
// system context sys: its assignments, and the default user role (the
// guest role for the guest account).
func (s *Source) systemRoles(ctx context.Context, u *User, sys int64) ([]int64, error) {
	var roles []int64
	if err := s.db.NewSelect().TableExpr("?", s.table("role_assignments")).ColumnExpr("roleid").
		Where("userid = ?", u.ID).Where("contextid = ?", sys).Scan(ctx, &roles); err != nil {
		return nil, s.readErr(ctx, "role_assignments", "reading role assignments", err)
	}
	guest := u.Username == "guest"
	if !guest {
		id, ok, err := s.configInt(ctx, "siteguest")
		if err != nil {
			return nil, err
		}
		guest = ok && id == u.ID
	}
	setting := "defaultuserroleid"
	if guest {
		setting = "guestroleid"
	}
	id, ok, err := s.configInt(ctx, setting)
	if err != nil {
		return nil, err
	}
	if ok && id > 0 {
		roles = append(roles, id)
	}
	slices.Sort(roles)
	return slices.Compact(roles), nil
}

// idListContains reports whether the comma-separated id list holds id
// (entries that are not integers are ignored).
func idListContains(list string, id int64) bool {
	for f := range strings.SplitSeq(list, ",") {
		if v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil && v == id {
			return true
		}
	}
	return false
}
