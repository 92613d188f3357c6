package seed

import "context"

// Config is a row of config: one site setting ($CFG->name), as text.
type Config struct {
	ID    int64  `moodle:"id,seq"`
	Name  string `moodle:"name,char(255),nn"`
	Value string `moodle:"value,text,nn"`
}

// TableName implements Row.
func (Config) TableName() string { return "config" }

// ConfigPlugin is a row of config_plugins: one setting of a plugin
// (get_config(plugin, name)), as text.
type ConfigPlugin struct {
	ID     int64  `moodle:"id,seq"`
	Plugin string `moodle:"plugin,char(100),nn"`
	Name   string `moodle:"name,char(100),nn"`
	Value  string `moodle:"value,text,nn"`
}

// TableName implements Row.
func (ConfigPlugin) TableName() string { return "config_plugins" }

// Role is a row of role (docs/moodle-data.md §3.14). Standard roles keep Name and
// Description empty (localised at display time).
type Role struct {
	ID          int64  `moodle:"id,seq"`
	Name        string `moodle:"name,char(255),nn"`
	ShortName   string `moodle:"shortname,char(100),nn"`
	Description string `moodle:"description,text,nn"`
	SortOrder   int64  `moodle:"sortorder,int(10),nn,default=0"`
	Archetype   string `moodle:"archetype,char(30),nn"`
}

// TableName implements Row.
func (Role) TableName() string { return "role" }

// RoleAssignment is a row of role_assignments (docs/moodle-data.md §3.13): a user holds a
// role in a context. Component is "" for manual assignments (manual
// enrolments included).
type RoleAssignment struct {
	ID           int64  `moodle:"id,seq"`
	RoleID       int64  `moodle:"roleid,int(10),nn,default=0"`
	ContextID    int64  `moodle:"contextid,int(10),nn,default=0"`
	UserID       int64  `moodle:"userid,int(10),nn,default=0"`
	TimeModified int64  `moodle:"timemodified,int(10),nn,default=0"`
	ModifierID   int64  `moodle:"modifierid,int(10),nn,default=0"`
	Component    string `moodle:"component,char(100),nn"`
	ItemID       int64  `moodle:"itemid,int(10),nn,default=0"`
	SortOrder    int64  `moodle:"sortorder,int(10),nn,default=0"`
}

// TableName implements Row.
func (RoleAssignment) TableName() string { return "role_assignments" }

// RoleCapability is a row of role_capabilities: the permission of a role
// for a capability in a context (1 CAP_ALLOW, -1 CAP_PREVENT, -1000
// CAP_PROHIBIT; 0 CAP_INHERIT is normally not stored).
type RoleCapability struct {
	ID           int64  `moodle:"id,seq"`
	ContextID    int64  `moodle:"contextid,int(10),nn,default=0"`
	RoleID       int64  `moodle:"roleid,int(10),nn,default=0"`
	Capability   string `moodle:"capability,char(255),nn"`
	Permission   int64  `moodle:"permission,int(10),nn,default=0"`
	TimeModified int64  `moodle:"timemodified,int(10),nn,default=0"`
	ModifierID   int64  `moodle:"modifierid,int(10),nn,default=0"`
}

// TableName implements Row.
func (RoleCapability) TableName() string { return "role_capabilities" }

// The standard roles, created in this order by an install (ids 1..8,
// docs/moodle-data.md §1), and the ids the generator uses.
var standardRoles = [...]string{"manager", "coursecreator", "editingteacher", "teacher", "student", "guest", "user", "frontpage"}

const (
	roleManager        = 1
	roleEditingTeacher = 3
	roleStudent        = 5
	roleGuest          = 6
	roleUser           = 7

	systemContextID = 1
	localHostID     = 1 // mnet_host of this site ($CFG->mnet_localhost_id)
	allHostsID      = 2 // the "All Hosts" mnet_host ($CFG->mnet_all_hosts_id)

	// capSeeSiteDetails is the capability the generated site grants
	// managers at the system context (block_use_stats).
	capSeeSiteDetails = "block/use_stats:seesitedetails"
)

// The Moodle release and version the generated site says it runs (config
// release and version).
const (
	SiteRelease = "4.5 (Build: 20241007)"
	SiteVersion = "2024100700.00"
)

// SiteTimezone is the generated site's time zone (config timezone, as an
// admin picks it at install; forcetimezone is 99, not forced).
const SiteTimezone = "UTC"

// writeAccess writes what a fresh install stores about access: the
// settings usestats reads (config, with the release, version, language
// and time zone), the standard roles, and the manager's
// permission to see the site details at the system context.
func (s *site) writeAccess(ctx context.Context, w *Writer) error {
	t0 := s.users[adminID-1].created
	settings := []struct{ name, value string }{
		{"mnet_localhost_id", itoa(localHostID)},
		{"mnet_all_hosts_id", itoa(allHostsID)},
		{"siteguest", itoa(guestID)},
		{"siteadmins", itoa(adminID)},
		{"guestroleid", itoa(roleGuest)},
		{"defaultuserroleid", itoa(roleUser)},
		{"release", SiteRelease},
		{"version", SiteVersion},
		{"lang", "en"},
		{"timezone", SiteTimezone},
		{"forcetimezone", "99"}, // users' zones not forced
	}
	for i, c := range settings {
		if err := w.add(ctx, Config{ID: int64(i + 1), Name: c.name, Value: c.value}); err != nil {
			return err
		}
	}
	for i, short := range standardRoles {
		id := int64(i + 1)
		if err := w.add(ctx, Role{ID: id, ShortName: short, SortOrder: id, Archetype: short}); err != nil {
			return err
		}
	}
	return w.add(ctx, RoleCapability{ID: 1, ContextID: systemContextID, RoleID: roleManager, Capability: capSeeSiteDetails,
		Permission: 1, TimeModified: t0})
}
