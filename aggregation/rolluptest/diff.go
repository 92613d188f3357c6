package rolluptest

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/usestats/usestats/aggregation"
)

// Diff compares two answers field by field, except Source (where they
// came from), and describes the first differences; "" when equal.
func Diff(want, got *aggregation.Result) string {
	if want == nil || got == nil {
		if want == got {
			return ""
		}
		return fmt.Sprintf("want %v, got %v", want, got)
	}
	a, b := *want, *got
	a.Source, b.Source = 0, 0
	if reflect.DeepEqual(a, b) {
		return ""
	}
	var out []string
	add := func(what string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("%s:\n  want %+v\n  got  %+v", what, x, y))
		}
	}
	add("policy", a.Policy, b.Policy)
	add("window", [2]int64{a.From, a.To}, [2]int64{b.From, b.To})
	add("total", a.Total, b.Total)
	add("site", a.Site, b.Site)
	add("days", a.Days, b.Days)
	add("hours", a.Hours, b.Hours)
	if len(a.Courses) != len(b.Courses) {
		add("courses", a.Courses, b.Courses)
	} else {
		for i := range a.Courses {
			add(fmt.Sprintf("course %d", a.Courses[i].CourseID), a.Courses[i], b.Courses[i])
		}
	}
	if len(a.Sessions) != len(b.Sessions) {
		add("sessions", a.Sessions, b.Sessions)
	} else {
		for i := range a.Sessions {
			add(fmt.Sprintf("session %d", i), a.Sessions[i], b.Sessions[i])
		}
	}
	if len(out) == 0 {
		return fmt.Sprintf("results differ:\n  want %+v\n  got  %+v", a, b)
	}
	if len(out) > 6 {
		out = append(out[:6], "…")
	}
	return strings.Join(out, "\n")
}

// DiffLines returns the lines only in a (prefixed "- ") and only in b
// ("+ "), or "" when both hold the same lines.
func DiffLines(a, b string) string {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		count[l]--
	}
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if count[l] > 0 {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if count[l] < 0 {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// Compare answers the users for each window under the policy from the
// log (live) and from the rollups (fromRollups), and returns the first
// difference ("" when every answer is equal) and how many answers came
// from each source.
func Compare(ctx context.Context, live, fromRollups *aggregation.Service, users []int64, p aggregation.Policy, windows []aggregation.Window) (string, map[aggregation.Source]int, error) {
	sources := map[aggregation.Source]int{}
	for _, w := range windows {
		q := aggregation.Query{Policy: p, Window: w}
		want, err := live.Users(ctx, users, q)
		if err != nil {
			return "", sources, err
		}
		got, err := fromRollups.Users(ctx, users, q)
		if err != nil {
			return "", sources, err
		}
		for _, u := range users {
			if want[u].Source != aggregation.SourceLive {
				return fmt.Sprintf("user %d: the live answer says %s", u, want[u].Source), sources, nil
			}
			sources[got[u].Source]++
			if d := Diff(want[u], got[u]); d != "" {
				return fmt.Sprintf("user %d, window [%d, %d] (%s):\n%s", u, w.From, w.To, got[u].Source, d), sources, nil
			}
		}
	}
	return "", sources, nil
}

// CompareSite answers the site stats and the site user list (by total)
// of the users for each window under the policy from the log (live) and
// from the rollups (fromRollups), which sums stored days' summaries where
// it can, and returns the first difference ("" when equal).
func CompareSite(ctx context.Context, live, fromRollups *aggregation.Service, users []int64, p aggregation.Policy, windows []aggregation.Window) (string, error) {
	lister := userList(users)
	for _, w := range windows {
		q := aggregation.Query{Policy: p, Window: w}
		var stats [2]aggregation.SiteStats
		var rows [2][]aggregation.SiteUser
		for i, svc := range []*aggregation.Service{live, fromRollups} {
			var err error
			if stats[i], err = svc.SiteStats(ctx, lister, q, 0, 5); err != nil {
				return "", err
			}
			err = svc.SiteUsers(ctx, lister, q, aggregation.SiteUserFilter{}, aggregation.Page[aggregation.SiteUserOrder]{Order: aggregation.SiteUserByTotal},
				func(u aggregation.SiteUser) error { rows[i] = append(rows[i], u); return nil })
			if err != nil {
				return "", err
			}
		}
		if !reflect.DeepEqual(stats[0], stats[1]) {
			return fmt.Sprintf("window [%d, %d]: site stats\nlive    %+v\nrollups %+v", w.From, w.To, stats[0], stats[1]), nil
		}
		if !reflect.DeepEqual(rows[0], rows[1]) {
			return fmt.Sprintf("window [%d, %d]: site users\n%+v\n%+v", w.From, w.To, rows[0], rows[1]), nil
		}
	}
	return "", nil
}

// userList lists the users (an aggregation.UserLister).
type userList []int64

// ListUsers implements aggregation.UserLister.
func (l userList) ListUsers(_ context.Context, _ aggregation.UserFilter, after int64, first int) ([]aggregation.UserInfo, error) {
	var out []aggregation.UserInfo
	for _, id := range l {
		if id > after && len(out) < first {
			out = append(out, aggregation.UserInfo{ID: id})
		}
	}
	return out, nil
}
