package seed

import (
	"context"
	"database/sql"
)

// ExternalService is a row of external_services (docs/moodle-data.md §3.17): a set of
// web-service functions that tokens are issued for.
type ExternalService struct {
	ID                 int64            `moodle:"id,seq"`
	Name               string           `moodle:"name,char(200),nn"`
	Enabled            int64            `moodle:"enabled,int(1),nn"`
	RequiredCapability sql.Null[string] `moodle:"requiredcapability,char(150)"`
	RestrictedUsers    int64            `moodle:"restrictedusers,int(1),nn"`
	Component          sql.Null[string] `moodle:"component,char(100)"`
	TimeCreated        int64            `moodle:"timecreated,int(10),nn"`
	TimeModified       sql.Null[int64]  `moodle:"timemodified,int(10)"`
	ShortName          sql.Null[string] `moodle:"shortname,char(255)"`
	DownloadFiles      int64            `moodle:"downloadfiles,int(1),nn,default=0"`
	UploadFiles        int64            `moodle:"uploadfiles,int(1),nn,default=0"`
}

// TableName implements Row.
func (ExternalService) TableName() string { return "external_services" }

// ExternalServiceFunction is a row of external_services_functions: the
// service lists the external function FunctionName.
type ExternalServiceFunction struct {
	ID                int64  `moodle:"id,seq"`
	ExternalServiceID int64  `moodle:"externalserviceid,int(10),nn"`
	FunctionName      string `moodle:"functionname,char(200),nn"`
}

// TableName implements Row.
func (ExternalServiceFunction) TableName() string { return "external_services_functions" }

// ExternalToken is a row of external_tokens (docs/moodle-data.md §3.17): a web-service
// token of a user for one service. TokenType is 0 for a permanent token, 1
// for one linked to a browser session (SID), 2 for a permanent token with
// an emulated session; ValidUntil NULL or 0 means no expiry.
type ExternalToken struct {
	ID                int64            `moodle:"id,seq"`
	Token             string           `moodle:"token,char(128),nn"`
	PrivateToken      sql.Null[string] `moodle:"privatetoken,char(64)"`
	TokenType         int64            `moodle:"tokentype,int(4),nn"`
	UserID            int64            `moodle:"userid,int(10),nn"`
	ExternalServiceID int64            `moodle:"externalserviceid,int(10),nn"`
	SID               sql.Null[string] `moodle:"sid,char(128)"`
	ContextID         int64            `moodle:"contextid,int(10),nn"`
	CreatorID         int64            `moodle:"creatorid,int(10),nn,default=1"`
	IPRestriction     sql.Null[string] `moodle:"iprestriction,char(255)"`
	ValidUntil        sql.Null[int64]  `moodle:"validuntil,int(10)"`
	TimeCreated       int64            `moodle:"timecreated,int(10),nn"`
	LastAccess        sql.Null[int64]  `moodle:"lastaccess,int(10)"`
	Name              sql.Null[string] `moodle:"name,char(255)"`
}

// TableName implements Row.
func (ExternalToken) TableName() string { return "external_tokens" }

// ExternalServiceUser is a row of external_services_users: a user allowed
// to call a service restricted to listed users (restrictedusers = 1), with
// the allowance's own IP restriction and expiry (NULL or 0: none).
type ExternalServiceUser struct {
	ID                int64            `moodle:"id,seq"`
	ExternalServiceID int64            `moodle:"externalserviceid,int(10),nn"`
	UserID            int64            `moodle:"userid,int(10),nn"`
	IPRestriction     sql.Null[string] `moodle:"iprestriction,char(255)"`
	ValidUntil        sql.Null[int64]  `moodle:"validuntil,int(10)"`
	TimeCreated       int64            `moodle:"timecreated,int(10),nn"`
}

// TableName implements Row.
func (ExternalServiceUser) TableName() string { return "external_services_users" }

// The web service of the generated site and the functions it lists.
const wsServiceName = "usestats"

var wsServiceFunctions = [...]string{
	"block_use_stats_get_user_stats",
	"block_use_stats_get_users_stats",
	"block_use_stats_get_users_course_stats",
	"core_webservice_get_site_info",
}

// writeWebService writes the site's one custom web service (enabled, open
// to every user with a token, no required capability) and its functions;
// no token is issued.
func writeWebService(ctx context.Context, w *Writer, created int64) error {
	svc := Defaults[ExternalService]()
	svc.ID, svc.Name, svc.ShortName, svc.Enabled = 1, wsServiceName, Some(wsServiceName), 1
	svc.Component, svc.TimeCreated, svc.TimeModified = Some(""), created, Some(created)
	rows := []Row{svc}
	for i, f := range wsServiceFunctions {
		rows = append(rows, ExternalServiceFunction{ID: int64(i + 1), ExternalServiceID: svc.ID, FunctionName: f})
	}
	return w.Add(ctx, rows...)
}
