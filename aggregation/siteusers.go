package aggregation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The site's users with their total time: the list every surface that
// exports or pages through a whole site (or a cohort) asks for. The
// service lists the users, answers their time in batches and orders
// them; callers receive small rows one at a time.

// SiteUsersBatch is how many users Service.SiteUsers and SiteStats list
// and answer at once (a few batches are answered at a time: see
// eachTotals); of each user only its totals are held, and at most
// fullAnswersAtOnce Results.
const SiteUsersBatch = 2000

// SiteUserOrder is the order of a site user list. Whatever the order and
// direction, users that tie are in ascending user id order.
type SiteUserOrder uint8

// The orders of a site user list.
const (
	// SiteUserByID sorts by user id: ascending, the list is streamed
	// batch by batch, holding one batch's answers at a time.
	SiteUserByID SiteUserOrder = iota
	// SiteUserByTotal sorts by total time (Result.Total.Elapsed).
	SiteUserByTotal
	// SiteUserByLastAccess sorts by the last counted event anywhere on
	// the site; never active users have 0, the earliest.
	SiteUserByLastAccess
	// SiteUserByName sorts by last name, then first name, both
	// lower-cased and compared byte-wise, as ParticipantByName.
	SiteUserByName
)

// String returns ID, TOTAL, LAST_ACCESS or NAME.
func (o SiteUserOrder) String() string {
	switch o {
	case SiteUserByID:
		return "ID"
	case SiteUserByTotal:
		return "TOTAL"
	case SiteUserByLastAccess:
		return "LAST_ACCESS"
	case SiteUserByName:
		return "NAME"
	}
	return ""
}

// SiteUserFilter keeps the users matching every set field; the zero
// filter keeps every user the directory lists. Times are the user's
// total (site and every course).
type SiteUserFilter struct {
	// Cohort lists the members of this cohort (Roster.CohortMembers)
	// instead of every user (0: every user).
	Cohort int64
	// Users narrows the users by search and MNET host, as
	// Directory.ListUsers does (a cohort's members too: see matchesUser).
	Users UserFilter
	// MinTotal and MaxTotal bound the total time (seconds, inclusive).
	MinTotal, MaxTotal *int64
	// InactiveSince keeps the users with no counted event at or after
	// this time (Unix seconds), those never active included.
	InactiveSince *int64
}

// keeps reports whether the filter keeps a user with that total.
func (f *SiteUserFilter) keeps(t *Stat) bool {
	switch {
	case f.MinTotal != nil && t.Elapsed < *f.MinTotal,
		f.MaxTotal != nil && t.Elapsed > *f.MaxTotal,
		f.InactiveSince != nil && t.Events > 0 && t.LastAccess >= *f.InactiveSince:
		return false
	}
	return true
}

// validate checks the filter's bounds (EInvalid).
func (f SiteUserFilter) validate() error {
	switch {
	case f.Cohort < 0:
		return Errorf(EInvalid, "site users: cohort %d is not a cohort id", f.Cohort)
	case f.MinTotal != nil && *f.MinTotal < 0, f.MaxTotal != nil && *f.MaxTotal < 0:
		return Errorf(EInvalid, "site users: minTotal and maxTotal must not be negative")
	case f.MinTotal != nil && f.MaxTotal != nil && *f.MaxTotal < *f.MinTotal:
		return Errorf(EInvalid, "site users: maxTotal (%d s) is below minTotal (%d s)", *f.MaxTotal, *f.MinTotal)
	}
	return nil
}

// SiteUser is one row of a site user list: the user and its total time
// for the query (site and every course). It is small on purpose: a list
// sorted by time holds one per user, never a whole Result.
type SiteUser struct {
	UserInfo
	// Total is Result.Total (zero for a user without an answer).
	Total Stat
}

// UserLister pages through the site's users in id order after a cursor
// (Directory.ListUsers; every Directory is one).
type UserLister interface {
	ListUsers(ctx context.Context, filter UserFilter, after int64, first int) ([]UserInfo, error)
}

// SiteUsers lists the site's users (from users, in id order) or, with
// filter.Cohort, a cohort's members (from the Roster; an unknown cohort
// is ENotFound), with their total time for the query, keeps those the
// filter keeps, sorts them by page.Order and calls fn for each row of the
// page (Limit rows after the first Offset; Limit 0: every row after
// Offset), in order, until fn returns an error, which SiteUsers returns.
//
// Time is answered (Service.totals) SiteUsersBatch users at a time. In
// ascending id order, rows are streamed as each batch is answered: memory
// holds the few batches being answered. By name, every user's UserInfo is held and sorted
// first, then answered batch by batch in that order. By total, last
// access or descending id, every kept user's SiteUser row is held (never
// its Result) and sorted once all are answered. The query's clock is
// fixed once, so every batch answers the same question. A negative
// Offset or Limit, an unknown order or a bad filter is EInvalid; users
// may be nil only with a cohort.
func (s *Service) SiteUsers(ctx context.Context, users UserLister, q Query, filter SiteUserFilter, page Page[SiteUserOrder], fn func(SiteUser) error) error {
	if page.Order.String() == "" {
		return Errorf(EInvalid, "site users: unknown order %d", page.Order)
	}
	if page.Offset < 0 || page.Limit < 0 {
		return Errorf(EInvalid, "site users: negative offset (%d) or limit (%d)", page.Offset, page.Limit)
	}
	if err := filter.validate(); err != nil {
		return err
	}
	q, err := s.normalize(q)
	if err != nil {
		return err
	}
	next, err := s.siteUserSource(ctx, users, filter.Cohort, filter.Users)
	if err != nil {
		return err
	}
	out := &pager{page: page, fn: fn}
	switch {
	case page.Order == SiteUserByID && !page.Desc:
		err = s.siteUserBatches(ctx, next, q, filter, out.emit)
	case page.Order == SiteUserByName:
		var all []UserInfo
		if err = eachBatch(ctx, next, func(b []UserInfo) error { all = append(all, b...); return nil }); err != nil {
			return err
		}
		err = s.siteUserBatches(ctx, sliceSource(sortByName(all, page.Desc), s.siteBatch), q, filter, out.emit)
	default:
		var kept []SiteUser
		err = s.siteUserBatches(ctx, next, q, filter, func(r SiteUser) error { kept = append(kept, r); return nil })
		if err != nil {
			return err
		}
		key := func(r *SiteUser) int64 { return r.ID }
		switch page.Order {
		case SiteUserByTotal:
			key = func(r *SiteUser) int64 { return r.Total.Elapsed }
		case SiteUserByLastAccess:
			key = func(r *SiteUser) int64 { return r.Total.LastAccess }
		}
		slices.SortFunc(kept, func(a, b SiteUser) int {
			c := cmp.Compare(key(&a), key(&b))
			if page.Desc {
				c = -c
			}
			return cmp.Or(c, cmp.Compare(a.ID, b.ID))
		})
		for _, r := range kept {
			if err = out.emit(r); err != nil {
				break
			}
		}
	}
	if errors.Is(err, errPageDone) {
		return nil
	}
	return err
}

// sortByName returns the users by last name, then first name (both
// lower-cased, compared byte-wise; reversed when desc), then id.
func sortByName(users []UserInfo, desc bool) []UserInfo {
	keys := make([]nameKey, len(users))
	for i := range users {
		keys[i] = nameKey{last: strings.ToLower(users[i].LastName), first: strings.ToLower(users[i].FirstName), i: i}
	}
	slices.SortFunc(keys, func(a, b nameKey) int {
		c := cmp.Or(strings.Compare(a.last, b.last), strings.Compare(a.first, b.first))
		if desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(users[a.i].ID, users[b.i].ID))
	})
	sorted := make([]UserInfo, len(users))
	for j, k := range keys {
		sorted[j] = users[k.i]
	}
	return sorted
}

// nameKey is a user's lower-cased names and index, for SiteUserByName.
type nameKey struct {
	last, first string
	i           int
}

// errPageDone stops a list once its page is full.
var errPageDone = errors.New("site users: page done")

// pager passes the rows of a page to fn: it skips Offset rows, then
// passes at most Limit (0: all), then answers errPageDone.
type pager struct {
	page    Page[SiteUserOrder]
	skipped int
	sent    int
	fn      func(SiteUser) error
}

func (p *pager) emit(r SiteUser) error {
	if p.skipped < p.page.Offset {
		p.skipped++
		return nil
	}
	if p.page.Limit > 0 && p.sent >= p.page.Limit {
		return errPageDone
	}
	p.sent++
	if err := p.fn(r); err != nil {
		return err
	}
	if p.page.Limit > 0 && p.sent >= p.page.Limit {
		return errPageDone
	}
	return nil
}

// siteUserSource returns the users to list, a batch at a time (nil, nil
// at the end): a cohort's members, or the directory's users in id order,
// narrowed by f.
func (s *Service) siteUserSource(ctx context.Context, users UserLister, cohort int64, f UserFilter) (func(context.Context) ([]UserInfo, error), error) {
	if cohort != 0 {
		r, err := s.roster()
		if err != nil {
			return nil, err
		}
		if _, err := r.FindCohort(ctx, CohortKey{ID: cohort}); err != nil {
			if ErrorCode(err) == ENotFound {
				return nil, Errorf(ENotFound, "no cohort with id %d", cohort)
			}
			return nil, fmt.Errorf("query service: cohort %d: %w", cohort, err)
		}
		members, err := r.CohortMembers(ctx, cohort)
		if err != nil {
			return nil, fmt.Errorf("query service: members of cohort %d: %w", cohort, err)
		}
		return sliceSource(slices.DeleteFunc(members, func(u UserInfo) bool { return !matchesUser(u, f) }), s.siteBatch), nil
	}
	if users == nil {
		return nil, Errorf(EUnavailable, "query service: no user directory given: the site's users cannot be listed")
	}
	var after int64
	done := false
	return func(ctx context.Context) ([]UserInfo, error) {
		if done {
			return nil, nil
		}
		b, err := users.ListUsers(ctx, f, after, s.siteBatch)
		if err != nil {
			return nil, fmt.Errorf("query service: listing users after id %d: %w", after, err)
		}
		if len(b) < s.siteBatch {
			done = true
		}
		if len(b) > 0 {
			after = b[len(b)-1].ID
		}
		return b, nil
	}, nil
}

// sliceSource hands out users batch at a time.
func sliceSource(users []UserInfo, batch int) func(context.Context) ([]UserInfo, error) {
	return func(context.Context) ([]UserInfo, error) {
		n := min(len(users), batch)
		b := users[:n:n]
		users = users[n:]
		return b, nil
	}
}

// eachBatch calls fn for each non-empty batch of next until it runs out.
func eachBatch(ctx context.Context, next func(context.Context) ([]UserInfo, error), fn func([]UserInfo) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := next(ctx)
		if err != nil || len(b) == 0 {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
}

// siteUserBatches answers each batch of next (Service.totals) and passes
// its rows that the filter keeps to fn, in the batch's order.
func (s *Service) siteUserBatches(ctx context.Context, next func(context.Context) ([]UserInfo, error), q Query, filter SiteUserFilter, fn func(SiteUser) error) error {
	return s.eachTotals(ctx, next, q, true, func(b []UserInfo, totals map[int64]*userTotals) error {
		for _, u := range b {
			row := SiteUser{UserInfo: u}
			if t := totals[u.ID]; t != nil {
				row.Total = t.Total
			}
			if !filter.keeps(&row.Total) {
				continue
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	})
}

// matchesUser reports whether a user matches a UserFilter as the Moodle
// directory matches it: on the host, and with the search a
// case-insensitive substring of the username, names, email or idnumber.
func matchesUser(u UserInfo, f UserFilter) bool {
	if f.Host != 0 && u.HostID != f.Host {
		return false
	}
	if f.Search == "" {
		return true
	}
	search := strings.ToLower(f.Search)
	for _, field := range []string{u.Username, u.FirstName, u.LastName, u.Email, u.IDNumber} {
		if strings.Contains(strings.ToLower(field), search) {
			return true
		}
	}
	return false
}
