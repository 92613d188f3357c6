package aggregation_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/internal/directorytest"
)

// siteFixture is a site of 600 users (more than two batches), most with
// activity, some without, names with ties and mixed case, and one cohort.
type siteFixture struct {
	dir  *directorytest.Directory
	svc  *aggregation.Service
	log  *batchLog
	q    aggregation.Query
	want map[int64]aggregation.Stat // Service.Users' totals
	ids  []int64
}

// batchLog is a SliceReader that records the largest batch it was asked
// to read.
type batchLog struct {
	aggregation.SliceReader
	mu       sync.Mutex
	maxBatch int
}

func (b *batchLog) UsersEvents(ctx context.Context, ids []int64, from, to int64, fn func(*aggregation.Event) bool) error {
	b.mu.Lock()
	b.maxBatch = max(b.maxBatch, len(ids))
	b.mu.Unlock()
	return b.SliceReader.UsersEvents(ctx, ids, from, to, fn)
}

func newSiteFixture(t *testing.T) *siteFixture {
	t.Helper()
	r := propRand(1, 'U')
	dir := directorytest.New()
	var events aggregation.SliceReader
	var ids []int64
	var last int64
	for i := range 600 {
		id := int64(3 + i*2) // holes in the ids
		ids = append(ids, id)
		lastName := []string{"Smith", "smith", "Adams", "Zhou", "O'Brien", "=cmd"}[i%6]
		dir.AddUsers(aggregation.UserInfo{ID: id, Username: fmt.Sprintf("u%d", id), FirstName: []string{"Ann", "bob", "Ann"}[i%3], LastName: lastName})
		if i%7 == 0 {
			continue // never active
		}
		evs := genStream(r, 1+r.IntN(30))
		for j := range evs {
			evs[j].UserID = id
			evs[j].ID = int64(len(events) + 1)
			events = append(events, evs[j])
		}
	}
	for _, ev := range events {
		last = max(last, ev.Time)
	}
	dir.AddCohorts(aggregation.CohortInfo{ID: 4, Name: "Evening"})
	for _, id := range ids {
		if id%3 == 0 {
			dir.AddToCohort(4, id)
		}
	}
	log := &batchLog{SliceReader: events}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: log, Roster: dir, Now: func() int64 { return last + 86400 }})
	if err != nil {
		t.Fatal(err)
	}
	q := aggregation.Query{Policy: preset(t, "usestats"), Window: aggregation.Window{From: 0, To: last}}
	res, err := svc.Users(context.Background(), ids, q)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]aggregation.Stat{}
	for _, id := range ids {
		want[id] = res[id].Total
	}
	log.maxBatch = 0 // the reference's own read is not a list's
	return &siteFixture{dir: dir, svc: svc, log: log, q: q, want: want, ids: ids}
}

// list runs SiteUsers and collects its rows.
func (f *siteFixture) list(t *testing.T, filter aggregation.SiteUserFilter, page aggregation.Page[aggregation.SiteUserOrder]) []aggregation.SiteUser {
	t.Helper()
	var rows []aggregation.SiteUser
	err := f.svc.SiteUsers(context.Background(), f.dir, f.q, filter, page, func(r aggregation.SiteUser) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatalf("SiteUsers(%+v, %+v): %v", filter, page, err)
	}
	return rows
}

// reference is what a list must be, computed from Service.Users'
// answers with a plain sort.
func (f *siteFixture) reference(members []int64, filter aggregation.SiteUserFilter, order aggregation.SiteUserOrder, desc bool) []int64 {
	var kept []int64
	for _, id := range members {
		s := f.want[id]
		if filter.MinTotal != nil && s.Elapsed < *filter.MinTotal || filter.MaxTotal != nil && s.Elapsed > *filter.MaxTotal ||
			filter.InactiveSince != nil && s.Events > 0 && s.LastAccess >= *filter.InactiveSince {
			continue
		}
		kept = append(kept, id)
	}
	key := func(id int64) string {
		s := f.want[id]
		switch order {
		case aggregation.SiteUserByTotal:
			return fmt.Sprintf("%020d", s.Elapsed)
		case aggregation.SiteUserByLastAccess:
			return fmt.Sprintf("%020d", s.LastAccess)
		case aggregation.SiteUserByName:
			u, _ := f.dir.User(id)
			return strings.ToLower(u.LastName) + "\x00" + strings.ToLower(u.FirstName)
		}
		return fmt.Sprintf("%020d", id)
	}
	slices.SortStableFunc(kept, func(a, b int64) int {
		c := strings.Compare(key(a), key(b))
		if desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a, b))
	})
	return kept
}

func rowIDs(rows []aggregation.SiteUser) []int64 {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

func i64(v int64) *int64 { return &v }

// Every order, both directions, with and without each filter, for the
// whole site and a cohort: the rows are the reference's, with the
// service's own totals, and no log read asks for more than a batch.
func TestSiteUsersOrdersAndFilters(t *testing.T) {
	f := newSiteFixture(t)
	var cohort []int64
	for _, id := range f.ids {
		if id%3 == 0 {
			cohort = append(cohort, id)
		}
	}
	var mid int64
	for _, s := range f.want {
		mid = max(mid, s.LastAccess)
	}
	mid -= 5 * 86400
	filters := map[string]aggregation.SiteUserFilter{
		"none":          {},
		"minTotal":      {MinTotal: i64(600)},
		"maxTotal":      {MaxTotal: i64(1800)},
		"between":       {MinTotal: i64(60), MaxTotal: i64(7200)},
		"inactiveSince": {InactiveSince: &mid},
		"cohort":        {Cohort: 4, MinTotal: i64(1)},
	}
	orders := []aggregation.SiteUserOrder{aggregation.SiteUserByID, aggregation.SiteUserByTotal, aggregation.SiteUserByLastAccess, aggregation.SiteUserByName}
	for name, filter := range filters {
		for _, o := range orders {
			for _, desc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/desc=%v", name, o, desc), func(t *testing.T) {
					members := f.ids
					if filter.Cohort != 0 {
						members = cohort
					}
					rows := f.list(t, filter, aggregation.Page[aggregation.SiteUserOrder]{Order: o, Desc: desc})
					want := f.reference(members, filter, o, desc)
					if name != "none" && (len(want) == 0 || len(want) == len(members)) {
						t.Fatalf("the fixture makes filter %s keep %d of %d users: it tests nothing", name, len(want), len(members))
					}
					if got := rowIDs(rows); !slices.Equal(got, want) {
						t.Fatalf("%d rows, want %d; first got %v, want %v", len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
					}
					for _, r := range rows {
						if r.Total != f.want[r.ID] {
							t.Fatalf("user %d: total %+v, want %+v", r.ID, r.Total, f.want[r.ID])
						}
						if u, _ := f.dir.User(r.ID); r.UserInfo != u {
							t.Fatalf("user %d: %+v, want %+v", r.ID, r.UserInfo, u)
						}
					}
				})
			}
		}
	}
	if f.log.maxBatch > aggregation.SiteUsersBatch {
		t.Errorf("a log read asked for %d users at once, more than a batch (%d)", f.log.maxBatch, aggregation.SiteUsersBatch)
	}
}

// In id order the directory is paged a batch at a time and rows reach fn
// before the next batch is listed; a page stops listing once full.
func TestSiteUsersStreamsByID(t *testing.T) {
	f := newSiteFixture(t)
	aggregation.SetSiteBatch(f.svc, 50)
	f.dir.ResetCalls()
	seen := 0
	err := f.svc.SiteUsers(context.Background(), f.dir, f.q, aggregation.SiteUserFilter{}, aggregation.Page[aggregation.SiteUserOrder]{}, func(aggregation.SiteUser) error {
		seen++
		// The batch of the row, two answered ahead, one listed and
		// waiting for them: at most four of the 13 listings.
		if seen == 1 && f.dir.Calls()["ListUsers"] > 4 {
			t.Errorf("first row after %d ListUsers calls, want at most 4", f.dir.Calls()["ListUsers"])
		}
		return nil
	})
	if err != nil || seen != len(f.ids) {
		t.Fatalf("%d rows, %v; want %d", seen, err, len(f.ids))
	}
	if got := f.dir.Calls()["ListUsers"]; got != 13 {
		t.Errorf("ListUsers called %d times for 600 users by 50, want 13", got)
	}
	f.dir.ResetCalls()
	rows := f.list(t, aggregation.SiteUserFilter{}, aggregation.Page[aggregation.SiteUserOrder]{Offset: 10, Limit: 5})
	if got, want := rowIDs(rows), f.ids[10:15]; !slices.Equal(got, want) {
		t.Errorf("offset 10 limit 5: %v, want %v", got, want)
	}
	if got := f.dir.Calls()["ListUsers"]; got > 4 {
		t.Errorf("a page of 5 listed %d batches, want at most 4", got)
	}
	for _, o := range []aggregation.SiteUserOrder{aggregation.SiteUserByTotal, aggregation.SiteUserByName} {
		all := f.list(t, aggregation.SiteUserFilter{}, aggregation.Page[aggregation.SiteUserOrder]{Order: o, Desc: true})
		page := f.list(t, aggregation.SiteUserFilter{}, aggregation.Page[aggregation.SiteUserOrder]{Order: o, Desc: true, Offset: 590, Limit: 20})
		if !slices.Equal(rowIDs(page), rowIDs(all[590:])) {
			t.Errorf("%s: the last page is not the list's end", o)
		}
	}
}

// fn's error stops the list and is returned; bad arguments are EInvalid,
// an unknown cohort ENotFound, a failing directory's error is returned.
func TestSiteUsersErrors(t *testing.T) {
	f := newSiteFixture(t)
	ctx := context.Background()
	stop := errors.New("stop")
	n := 0
	err := f.svc.SiteUsers(ctx, f.dir, f.q, aggregation.SiteUserFilter{}, aggregation.Page[aggregation.SiteUserOrder]{Order: aggregation.SiteUserByTotal}, func(aggregation.SiteUser) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d rows, want stop after 1", err, n)
	}
	none := func(aggregation.SiteUser) error { return nil }
	for name, c := range map[string]struct {
		filter aggregation.SiteUserFilter
		page   aggregation.Page[aggregation.SiteUserOrder]
		code   string
	}{
		"order":          {page: aggregation.Page[aggregation.SiteUserOrder]{Order: 99}, code: aggregation.EInvalid},
		"offset":         {page: aggregation.Page[aggregation.SiteUserOrder]{Offset: -1}, code: aggregation.EInvalid},
		"limit":          {page: aggregation.Page[aggregation.SiteUserOrder]{Limit: -1}, code: aggregation.EInvalid},
		"negative total": {filter: aggregation.SiteUserFilter{MinTotal: i64(-1)}, code: aggregation.EInvalid},
		"max below min":  {filter: aggregation.SiteUserFilter{MinTotal: i64(10), MaxTotal: i64(9)}, code: aggregation.EInvalid},
		"cohort id":      {filter: aggregation.SiteUserFilter{Cohort: -4}, code: aggregation.EInvalid},
		"unknown cohort": {filter: aggregation.SiteUserFilter{Cohort: 99}, code: aggregation.ENotFound},
	} {
		if err := f.svc.SiteUsers(ctx, f.dir, f.q, c.filter, c.page, none); aggregation.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	if err := f.svc.SiteUsers(ctx, nil, f.q, aggregation.SiteUserFilter{}, aggregation.Page[aggregation.SiteUserOrder]{}, none); aggregation.ErrorCode(err) != aggregation.EUnavailable {
		t.Errorf("no directory: %v, want EUnavailable", err)
	}
	if err := f.svc.SiteUsers(ctx, nil, f.q, aggregation.SiteUserFilter{Cohort: 4}, aggregation.Page[aggregation.SiteUserOrder]{}, none); err != nil {
		t.Errorf("a cohort needs no directory: %v", err)
	}
	down := aggregation.Errorf(aggregation.EUnavailable, "database down")
	f.dir.SetFailure(down)
	if err := f.svc.SiteUsers(ctx, f.dir, f.q, aggregation.SiteUserFilter{}, aggregation.Page[aggregation.SiteUserOrder]{}, none); !errors.Is(err, down) {
		t.Errorf("failing directory: %v, want its error", err)
	}
}
