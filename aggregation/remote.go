package aggregation

import "context"

// HostInfo is another host of an MNET network that can be asked for a
// user's time (a registered peer).
type HostInfo struct {
	WWWRoot string
	Name    string
}

// HostCourse is one course's time as a remote host reports it. Remote
// hosts answer in whole minutes and leave out courses under 5 minutes
// (the use_stats protocol), so Elapsed is a multiple of 60 seconds.
type HostCourse struct {
	FullName  string
	ShortName string
	IDNumber  string
	Elapsed   int64 // seconds
}

// HostStats is one host's answer for one user. When Err is set the host
// did not answer usably (unreachable, refused, timed out) and the other
// fields are zero; Err carries an *Error code (EUnavailable, ENotFound,
// EForbidden, …) and a caller-safe message.
type HostStats struct {
	Host    HostInfo
	Elapsed int64 // seconds, whole minutes
	Courses []HostCourse
	Err     error
}

// RemoteStats gathers a user's time from other hosts (MNET peers).
type RemoteStats interface {
	// Hosts lists the hosts that can be asked, by wwwroot.
	Hosts(ctx context.Context) ([]HostInfo, error)
	// UserStats asks each of hosts (wwwroots; unknown ones are answered
	// with an ENotFound Err) concurrently for the time of the user with
	// this username since from (up to now), within ctx's deadline. The
	// answer has one row per asked host, in the order given.
	UserStats(ctx context.Context, hosts []string, username string, from int64) []HostStats
}
