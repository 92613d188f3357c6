package resolvers

import (
	"context"
	"errors"

	"github.com/vikstrous/dataloadgen"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// Distributed recollection: User.stats(hosts:, allHosts:) also asks other
// hosts (MNET peers, through Config.Remote) for the user's time. The
// statistic checks the arguments; its hosts and allHostsTotal fields share
// one gathering, run when the first of them resolves.

// localHostName names this site's row of UserStats.hosts.
const localHostName = "this site"

// peerQuery reads a statistic's hosts and allHosts arguments: nil when no
// other host is asked. Asking needs site:read (FORBIDDEN) and a Remote
// (UNAVAILABLE).
func (r *Resolver) peerQuery(ctx context.Context, u *model.User, q model.StatsQuery, hosts []string, allHosts *bool) (*model.PeerQuery, error) {
	if hosts == nil && (allHosts == nil || !*allHosts) {
		return nil, nil
	}
	if !scopesOf(ctx).CanReadSite() {
		return nil, forbidden("asking other hosts (hosts, allHosts) needs the site:read scope")
	}
	list, all, asked, err := hostsOf(hosts, allHosts)
	if err != nil || !asked {
		return nil, err
	}
	if r.cfg.Remote == nil {
		return nil, unavailable("MNET is not configured on this server: other hosts (hosts, allHosts) cannot be asked")
	}
	return &model.PeerQuery{Hosts: list, All: all, Username: u.Username, From: q.Window.From}, nil
}

// askPeers returns one row per asked peer, in the order asked, gathering
// them once per statistic within Config.RemoteTimeout (and the request's
// deadline). A peer's failure is its row's Err; only listing the
// registered hosts (allHosts) can fail the whole.
func (r *Resolver) askPeers(ctx context.Context, p *model.PeerQuery) ([]aggregation.HostStats, error) {
	return p.Answer(func() ([]aggregation.HostStats, error) {
		ctx, cancel := context.WithTimeout(ctx, r.cfg.RemoteTimeout)
		defer cancel()
		hosts, names := p.Hosts, map[string]string{}
		if p.All {
			list, err := r.cfg.Remote.Hosts(ctx)
			if err != nil {
				return nil, err
			}
			hosts = make([]string, len(list))
			for i, h := range list {
				hosts[i] = h.WWWRoot
				names[h.WWWRoot] = h.Name
			}
		}
		if len(hosts) == 0 {
			return nil, nil
		}
		got := r.cfg.Remote.UserStats(ctx, hosts, p.Username, p.From)
		rows := make([]aggregation.HostStats, len(hosts))
		for i, h := range hosts {
			if i < len(got) {
				rows[i] = got[i]
			} else {
				rows[i].Err = aggregation.Errorf(aggregation.EInternal, "the MNET client gave no answer for %s", h)
			}
			if rows[i].Host.WWWRoot == "" {
				rows[i].Host.WWWRoot = h
			}
			if rows[i].Host.Name == "" {
				rows[i].Host.Name = names[h]
			}
		}
		return rows, nil
	})
}

// hostRows resolves UserStats.hosts: this site's row, then the peers'.
func (r *Resolver) hostRows(ctx context.Context, s *model.UserStats) ([]model.HostStats, error) {
	out := []model.HostStats{}
	if s.Peers == nil {
		return out, nil
	}
	peers, err := r.askPeers(ctx, s.Peers)
	if err != nil {
		return nil, err
	}
	local, err := localHostRow(ctx, s)
	if err != nil {
		return nil, err
	}
	out = append(out, local)
	bare := s.Computation.Scope == model.StatsScopeSite
	for i := range peers {
		out = append(out, r.peerRow(ctx, &peers[i], bare))
	}
	return out, nil
}

// allHostsTotal resolves UserStats.allHostsTotal: the local total plus
// every peer that answered.
func (r *Resolver) allHostsTotal(ctx context.Context, s *model.UserStats) (int64, error) {
	total := s.Total
	if s.Peers == nil {
		return total, nil
	}
	peers, err := r.askPeers(ctx, s.Peers)
	if err != nil {
		return 0, err
	}
	for _, p := range peers {
		if p.Err == nil {
			total += p.Elapsed
		}
	}
	return total, nil
}

// localHostRow is this site's row: the statistic's total and its readable
// courses (none at SITE scope), named through the course loader.
func localHostRow(ctx context.Context, s *model.UserStats) (model.HostStats, error) {
	total := s.Total
	row := model.HostStats{Name: localHostName, Local: true, Ok: true, Total: &total, Courses: []model.HostCourseStat{}}
	comp := s.Computation
	if comp.Scope == model.StatsScopeSite {
		return row, nil
	}
	var courses []*aggregation.CourseStat
	var thunks []func() (aggregation.CourseInfo, error)
	ld := requestOf(ctx).loaders.courses
	for i := range comp.Result.Courses {
		c := &comp.Result.Courses[i]
		if comp.Access.Allows(c.CourseID) {
			courses = append(courses, c)
			thunks = append(thunks, ld.LoadThunk(ctx, c.CourseID))
		}
	}
	for i, c := range courses {
		info, err := thunks[i]()
		if err != nil && !errors.Is(err, dataloadgen.ErrNotFound) {
			return row, err
		}
		row.Courses = append(row.Courses, model.HostCourseStat{
			Name: info.FullName, Shortname: info.ShortName, Idnumber: info.IDNumber, Total: c.Total.Elapsed,
		})
	}
	return row, nil
}

// peerRow is a peer's row; bare leaves its courses out (SITE scope).
func (r *Resolver) peerRow(ctx context.Context, p *aggregation.HostStats, bare bool) model.HostStats {
	row := model.HostStats{Wwwroot: p.Host.WWWRoot, Name: p.Host.Name, Courses: []model.HostCourseStat{}}
	if p.Err != nil {
		row.Error = r.hostError(ctx, p.Host.WWWRoot, p.Err)
		return row
	}
	total := p.Elapsed
	row.Ok, row.Total = true, &total
	if bare {
		return row
	}
	for _, c := range p.Courses {
		row.Courses = append(row.Courses, model.HostCourseStat{Name: c.FullName, Shortname: c.ShortName, Idnumber: c.IDNumber, Total: c.Elapsed})
	}
	return row
}

// hostError turns a peer's failure into its code (mapped as the error
// presenter maps core codes) and caller-safe message; an internal failure
// is logged and shown as "internal error", as the presenter does.
func (r *Resolver) hostError(ctx context.Context, host string, err error) *model.HostError {
	code := codeOf(aggregation.ErrorCode(err))
	msg := aggregation.ErrorMessage(err)
	if code == CodeInternal {
		r.record(ctx, "graphql: peer failed", []any{"host", clip(host, 500), "error", clip(err.Error(), 4096)})
		msg = "internal error"
	}
	return &model.HostError{Code: code, Message: msg}
}
