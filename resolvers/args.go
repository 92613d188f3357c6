package resolvers

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// Arguments to core values: every check of the caller's input is here and
// fails with EInvalid (BAD_USER_INPUT).

// statsQuery reads the range, policy and scope arguments of a statistic.
func (r *Resolver) statsQuery(ctx context.Context, rng *model.TimeRange, pol *model.PolicyInput, scope *model.StatsScope) (model.StatsQuery, error) {
	now := requestOf(ctx).now
	w, err := r.window(rng, now)
	if err != nil {
		return model.StatsQuery{}, err
	}
	p, err := policyOf(r.cfg.Service.Policies(), pol)
	if err != nil {
		return model.StatsQuery{}, err
	}
	q := model.StatsQuery{Window: w, Now: now, Policy: p, Scope: model.StatsScopeModule}
	if scope != nil {
		if !scope.IsValid() {
			return model.StatsQuery{}, invalid("unknown scope %q", *scope)
		}
		q.Scope = *scope
	}
	return q, nil
}

// window reads a range: from defaults to the Unix epoch, to to now; dates
// are calendar days in the site's time zone (from: the day's first second,
// to: its last).
func (r *Resolver) window(rng *model.TimeRange, now int64) (aggregation.Window, error) {
	w := aggregation.Window{From: 0, To: now}
	if rng != nil {
		if rng.From != nil {
			w.From = r.place(*rng.From, false)
		}
		if rng.To != nil {
			w.To = r.place(*rng.To, true)
		}
	}
	if w.To < w.From {
		return w, invalid("range: to (%d) is before from (%d)", w.To, w.From)
	}
	return w, nil
}

// place turns an input time into Unix seconds; a calendar date is placed
// in the site's time zone at its first (or, for an end, last) second.
func (r *Resolver) place(t model.Time, end bool) int64 {
	if t.Date == "" {
		return t.Unix
	}
	d, err := time.ParseInLocation(time.DateOnly, t.Date, r.cfg.Service.Location())
	if err != nil { // the scalar already checked the date
		return t.Unix
	}
	if end {
		return d.AddDate(0, 0, 1).Unix() - 1
	}
	return d.Unix()
}

// policyOf builds the policy: the named one (default: the site's, else
// usestats) with every explicit parameter overriding its rule, then
// normalized (a changed preset becomes "custom").
func policyOf(known *aggregation.Policies, in *model.PolicyInput) (aggregation.Policy, error) {
	name := ""
	if in != nil && in.Name != nil {
		name = *in.Name
	}
	p, err := known.Lookup(name)
	if err != nil {
		return p, invalid("unknown policy %q (known: %s)", name, strings.Join(known.Names(), ", "))
	}
	if in != nil {
		setIf(&p.Threshold, in.Threshold)
		setIf(&p.OverAtThreshold, in.OverAtThreshold)
		setIf(&p.Credit, in.Credit)
		setIf(&p.Coalesce, in.Coalesce)
		setIf(&p.SplitOnLogin, in.SplitOnLogin)
		setIf(&p.SplitOnCourse, in.SplitOnCourse)
		setIf(&p.MinSession, in.MinSession)
		setIf(&p.KeepFailed, in.KeepFailed)
		setIf(&p.KeepLoginAs, in.KeepLoginAs)
		setIf(&p.KeepAnonymous, in.KeepAnonymous)
		setIf(&p.SkipGraded, in.SkipGraded)
		setIf(&p.Logout, in.Logout)
		setIf(&p.EnrolmentFilter, in.EnrolmentFilter)
		setIf(&p.Scorm, in.Scorm)
		if in.Attribution != nil {
			if p.Attribution, err = attributionOf(*in.Attribution); err != nil {
				return p, err
			}
		}
		if in.Timeline != nil {
			if p.Timeline, err = timelineOf(*in.Timeline); err != nil {
				return p, err
			}
		}
		if in.Site != nil {
			if p.Site, err = siteRowsOf(*in.Site); err != nil {
				return p, err
			}
		}
		if in.Capture != nil {
			p.Capture = in.Capture
		}
		if in.Ignore != nil {
			p.Ignore = in.Ignore
		}
		if in.DropOrigins != nil {
			p.DropOrigins = in.DropOrigins
		}
	}
	return p.Normalize()
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func attributionOf(a model.Attribution) (aggregation.Attribution, error) {
	switch a {
	case model.AttributionForward:
		return aggregation.Forward, nil
	case model.AttributionBackward:
		return aggregation.Backward, nil
	}
	return 0, invalid("unknown attribution %q", a)
}

func timelineOf(t model.Timeline) (aggregation.Timeline, error) {
	switch t {
	case model.TimelineUser:
		return aggregation.PerUser, nil
	case model.TimelineCourse:
		return aggregation.PerCourse, nil
	}
	return 0, invalid("unknown timeline %q", t)
}

func siteRowsOf(s model.SiteRows) (aggregation.SiteRows, error) {
	switch s {
	case model.SiteRowsLoginLogout:
		return aggregation.SiteLoginLogout, nil
	case model.SiteRowsAll:
		return aggregation.SiteAll, nil
	case model.SiteRowsNone:
		return aggregation.SiteNone, nil
	}
	return 0, invalid("unknown site rule %q", s)
}

// userKeyOf reads a UserBy: exactly one of id, username, idnumber or
// email; host only with username.
func userKeyOf(by model.UserBy) (aggregation.UserKey, error) {
	var k aggregation.UserKey
	n := 0
	if by.ID != nil {
		if *by.ID <= 0 {
			return k, invalid("by.id must be a positive integer")
		}
		k.ID = *by.ID
		n++
	}
	if by.Username != nil {
		if err := lookupText("by.username", *by.Username); err != nil {
			return k, err
		}
		k.Username = *by.Username
		n++
	}
	if by.Idnumber != nil {
		if err := lookupText("by.idnumber", *by.Idnumber); err != nil {
			return k, err
		}
		k.IDNumber = *by.Idnumber
		n++
	}
	if by.Email != nil {
		if err := lookupText("by.email", *by.Email); err != nil {
			return k, err
		}
		k.Email = *by.Email
		n++
	}
	if n != 1 {
		return k, invalid("give exactly one of by.id, by.username, by.idnumber or by.email (got %d)", n)
	}
	if by.Host != nil {
		if k.Username == "" {
			return k, invalid("by.host goes only with by.username")
		}
		if *by.Host <= 0 {
			return k, invalid("by.host must be a positive MNET host id")
		}
		k.Host = int64(*by.Host)
	}
	return k, nil
}

// lookupText checks a text a lookup takes: not empty, and without a NUL
// character, which no Moodle value holds and databases refuse.
func lookupText(name, v string) error {
	if v == "" {
		return invalid("%s must not be empty", name)
	}
	if strings.ContainsRune(v, 0) {
		return invalid("%s must not contain a NUL character", name)
	}
	return nil
}

// courseKeyOf reads a CourseBy: exactly one of id, shortname or idnumber.
func courseKeyOf(by model.CourseBy) (aggregation.CourseKey, error) {
	var k aggregation.CourseKey
	n := 0
	if by.ID != nil {
		if *by.ID <= 0 {
			return k, invalid("by.id must be a positive integer")
		}
		k.ID = *by.ID
		n++
	}
	if by.Shortname != nil {
		if err := lookupText("by.shortname", *by.Shortname); err != nil {
			return k, err
		}
		k.ShortName = *by.Shortname
		n++
	}
	if by.Idnumber != nil {
		if err := lookupText("by.idnumber", *by.Idnumber); err != nil {
			return k, err
		}
		k.IDNumber = *by.Idnumber
		n++
	}
	if n != 1 {
		return k, invalid("give exactly one of by.id, by.shortname or by.idnumber (got %d)", n)
	}
	return k, nil
}

// userFilterOf reads a UserFilter.
func userFilterOf(f *model.UserFilter) (aggregation.UserFilter, error) {
	var out aggregation.UserFilter
	if f == nil {
		return out, nil
	}
	if f.Search != nil {
		out.Search = strings.TrimSpace(*f.Search)
		if strings.ContainsRune(out.Search, 0) {
			return out, invalid("filter.search must not contain a NUL character")
		}
	}
	if f.Host != nil {
		if *f.Host <= 0 {
			return out, invalid("filter.host must be a positive MNET host id")
		}
		out.Host = int64(*f.Host)
	}
	return out, nil
}

// hostsOf reads the hosts and allHosts arguments of a statistic: asked is
// false when neither asks for other hosts. hosts (at most maxHosts, each
// once) and allHosts go alone; a wwwroot loses its surrounding spaces and
// a trailing slash.
func hostsOf(hosts []string, allHosts *bool) (list []string, all, asked bool, err error) {
	all = allHosts != nil && *allHosts
	switch {
	case hosts == nil:
		return nil, all, all, nil
	case all:
		return nil, false, false, invalid("give hosts or allHosts: true, not both")
	case len(hosts) > maxHosts:
		return nil, false, false, invalid("hosts: at most %d hosts (got %d)", maxHosts, len(hosts))
	}
	list = make([]string, len(hosts))
	seen := make(map[string]bool, len(hosts))
	for i, h := range hosts {
		h = strings.TrimSuffix(strings.TrimSpace(h), "/")
		if h == "" || strings.ContainsRune(h, 0) {
			return nil, false, false, invalid("hosts[%d]: want a wwwroot, got an empty string or a NUL character", i)
		}
		if seen[h] {
			return nil, false, false, invalid("hosts: %q is given twice", h)
		}
		seen[h] = true
		list[i] = h
	}
	return list, false, true, nil
}

// pageSize reads a first argument: default 20, at most 100.
func pageSize(first *int) (int, error) {
	if first == nil {
		return defaultPage, nil
	}
	if *first < 0 || *first > maxPage {
		return 0, invalid("first must be between 0 and %d (got %d)", maxPage, *first)
	}
	return *first, nil
}

// Cursors are opaque to clients: base64url of "<list>:<scope>:<id>", where
// the scope ties a participants cursor to its course. A cursor of another
// list, course or shape is BAD_USER_INPUT.

func encodeCursor(list string, scope, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(list + ":" + strconv.FormatInt(scope, 10) + ":" + strconv.FormatInt(id, 10)))
}

// decodeCursor returns the id after which the page starts (0 without a
// cursor).
func decodeCursor(after *string, list string, scope int64) (int64, error) {
	if after == nil {
		return 0, nil
	}
	bad := invalid("after: not a cursor of this list")
	raw, err := base64.RawURLEncoding.DecodeString(*after)
	if err != nil {
		return 0, bad
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 3 || parts[0] != list || parts[1] != strconv.FormatInt(scope, 10) {
		return 0, bad
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || id <= 0 {
		return 0, bad
	}
	return id, nil
}
