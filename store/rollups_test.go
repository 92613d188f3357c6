package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/store"
)

var (
	keyA = aggregation.CompileKey{Policy: "default", Version: "v1", Zone: "UTC"}
	keyB = aggregation.CompileKey{Policy: "strict", Version: "9f3a", Zone: "Europe/Paris"}
)

const (
	minDay aggregation.Day = -1 << 40
	maxDay aggregation.Day = 1 << 40
)

// cell makes a cell of user on day; extra fields vary with n.
func cell(user int64, day aggregation.Day, n int64) aggregation.RollupEntry {
	e := aggregation.RollupEntry{
		Key: aggregation.RollupKey{UserID: user, Day: day, Bucket: aggregation.Bucket(n % 4), CourseID: 10 + n%3,
			SectionID: n % 2 * 7, CMID: n % 2 * (100 + n)},
		Cell: aggregation.RollupCell{Elapsed: 60 * n, Events: n + 1, First: int64(day)*86400 + n, Last: int64(day)*86400 + 2*n},
	}
	if n%2 == 1 {
		e.Cell.ModuleType = "quiz"
	}
	if n%3 == 0 {
		e.Cell.FirstIP = aggregation.IPMark{IP: "10.0.0.1", Time: e.Cell.First, ID: 1000 + n}
		e.Cell.LastIP = aggregation.IPMark{IP: "2001:db8::1", Time: e.Cell.Last, ID: 2000 + n}
	}
	return e
}

// hour makes an hourly cell of user on day; its course and hour vary
// with n (the hour may lie outside the day's 24, as in zones far from
// UTC).
func hour(user int64, day aggregation.Day, n int64) aggregation.HourEntry {
	return aggregation.HourEntry{
		Key:  aggregation.HourKey{UserID: user, Day: day, CourseID: n % 3 * 5, Hour: aggregation.Hour(int64(day)*24 + n%40 - 10)},
		Cell: aggregation.HourCell{Elapsed: 60*n + 1, Events: n + 1},
	}
}

// piece makes a session piece of user on day.
func piece(user int64, day aggregation.Day, key int64) aggregation.SessionPiece {
	return aggregation.SessionPiece{UserID: user, Key: key, Day: day, Start: int64(day) * 86400, End: int64(day)*86400 + 600,
		Elapsed: 540, Events: 7, Courses: []int64{12, 3}, FirstID: key + int64(day), LastID: key + int64(day) + 6, PrevLastID: key}
}

func sortEntries(es []aggregation.RollupEntry) []aggregation.RollupEntry {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b aggregation.RollupEntry) int {
		x, y := a.Key, b.Key
		return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.Day, y.Day), cmp.Compare(x.Bucket, y.Bucket),
			cmp.Compare(x.CourseID, y.CourseID), cmp.Compare(x.SectionID, y.SectionID), cmp.Compare(x.CMID, y.CMID))
	})
	return es
}

func sortHours(hs []aggregation.HourEntry) []aggregation.HourEntry {
	hs = slices.Clone(hs)
	slices.SortFunc(hs, func(a, b aggregation.HourEntry) int { return aggregation.CompareHourKeys(&a.Key, &b.Key) })
	return hs
}

func sortPieces(ps []aggregation.SessionPiece) []aggregation.SessionPiece {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b aggregation.SessionPiece) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Day, b.Day), cmp.Compare(a.Key, b.Key))
	})
	return ps
}

// sameCells compares cells in any order (nil and empty are equal).
func sameCells(t *testing.T, what string, got, want []aggregation.RollupEntry) {
	t.Helper()
	sameSorted(t, what+": cells", sortEntries(got), sortEntries(want))
}

// sameHours compares hourly cells in any order (nil and empty are equal).
func sameHours(t *testing.T, what string, got, want []aggregation.HourEntry) {
	t.Helper()
	sameSorted(t, what+": hours", sortHours(got), sortHours(want))
}

// sameSorted compares two sorted lists (nil and empty are equal).
func sameSorted[E any](t *testing.T, what string, got, want []E) {
	t.Helper()
	if (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
		t.Errorf("%s\n got %+v\nwant %+v", what, got, want)
	}
}

func samePieces(t *testing.T, what string, got, want []aggregation.SessionPiece) {
	t.Helper()
	g, w := sortPieces(got), sortPieces(want)
	if len(g) == 0 && len(w) == 0 {
		return
	}
	for i := range g { // nil and empty course lists are equal
		if len(g[i].Courses) == 0 {
			g[i].Courses = nil
		}
	}
	for i := range w {
		if len(w[i].Courses) == 0 {
			w[i].Courses = nil
		}
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: pieces\n got %+v\nwant %+v", what, g, w)
	}
}

func complete(horizon int64) *aggregation.CompileState {
	return &aggregation.CompileState{Complete: true, Horizon: horizon, Watermark: 500, Gaps: []int64{497, 499}}
}

func mustRollups(t *testing.T, s *store.Store, key aggregation.CompileKey, users []int64, from, to aggregation.Day) map[int64]*aggregation.UserRollups {
	t.Helper()
	got, ok, err := s.Rollups(context.Background(), key, users, from, to)
	if err != nil || !ok {
		t.Fatalf("Rollups(%d users, %v..%v) = ok %v, %v", len(users), from, to, ok, err)
	}
	return got
}

func TestRollupsRoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		// Every field, extreme values, text that COPY must escape.
		odd := []aggregation.RollupEntry{
			cell(1, 0, 3), cell(1, -1, 5), cell(1, -(1<<40)+1, 6), cell(1, 1<<40-1, 7),
			{Key: aggregation.RollupKey{UserID: 1, Day: 20000, Bucket: aggregation.BucketActivity, CourseID: math.MaxInt64,
				SectionID: math.MinInt64, CMID: -5},
				Cell: aggregation.RollupCell{Elapsed: math.MaxInt64, Events: math.MinInt64, First: math.MinInt64, Last: math.MaxInt64,
					ModuleType: "we\\ird\tmod\nname\r√",
					FirstIP:    aggregation.IPMark{IP: "", Time: 5, ID: 0}, // an empty IP with a place is kept as it is
					LastIP:     aggregation.IPMark{IP: "1.2.3.4", Time: math.MinInt64, ID: math.MaxInt64}}},
			{Key: aggregation.RollupKey{UserID: 1, Day: math.MaxInt64}, Cell: aggregation.RollupCell{Events: 1}},
			{Key: aggregation.RollupKey{UserID: 1, Day: math.MinInt64}, Cell: aggregation.RollupCell{Events: 2}},
		}
		hours := []aggregation.HourEntry{
			hour(1, 0, 3), hour(1, 0, 4), hour(1, -1, 5), hour(1, -(1<<40)+1, 6), hour(1, 1<<40-1, 7),
			hour(1, 6, 1), // a day with hours and pieces but no cell
			{Key: aggregation.HourKey{UserID: 1, Day: 20000, CourseID: math.MinInt64, Hour: math.MaxInt64},
				Cell: aggregation.HourCell{Elapsed: math.MaxInt64, Events: math.MinInt64}},
			{Key: aggregation.HourKey{UserID: 1, Day: 20000, CourseID: math.MaxInt64, Hour: math.MinInt64},
				Cell: aggregation.HourCell{Elapsed: -1}},
			{Key: aggregation.HourKey{UserID: 1, Day: math.MaxInt64, Hour: 1}, Cell: aggregation.HourCell{Events: 1}},
			{Key: aggregation.HourKey{UserID: 1, Day: math.MinInt64, Hour: -1}, Cell: aggregation.HourCell{Events: 2}},
			{Key: aggregation.HourKey{UserID: 1, Day: 9, Hour: 9 * 24}, Cell: aggregation.HourCell{Elapsed: 5}}, // a day of hours only
		}
		pieces := []aggregation.SessionPiece{
			piece(1, 0, 77), piece(1, -1, 77), piece(1, 1<<40-1, 99),
			{UserID: 1, Key: math.MinInt64, Day: 5, Start: math.MinInt64, End: math.MaxInt64, Elapsed: -1, Events: 0,
				Courses: []int64{math.MinInt64, 0, math.MaxInt64}, FirstID: 1, LastID: 2, PrevLastID: math.MaxInt64},
			{UserID: 1, Key: 3, Day: 6}, // no courses
		}
		users := []aggregation.UserCompile{
			{UserID: 1, FromDay: minDay, Cells: odd, Hours: hours, Pieces: pieces, State: aggregation.UserState{CompiledTo: math.MaxInt64, LastTime: 90}},
			{UserID: 2, FromDay: minDay, Cells: []aggregation.RollupEntry{cell(2, 3, 1)}, Hours: []aggregation.HourEntry{hour(2, 3, 1)},
				State: aggregation.UserState{CompiledTo: 1000, LastTime: 2000}},
			{UserID: -3, FromDay: minDay, Cells: []aggregation.RollupEntry{cell(-3, 3, 2)},
				State: aggregation.UserState{CompiledTo: math.MinInt64 + 1, LastTime: math.MinInt64}},
		}
		if err := s.WriteUsers(ctx, keyA, users, nil); err != nil {
			t.Fatal(err)
		}
		// Not complete yet: no answer from rollups.
		if _, ok, err := s.Rollups(ctx, keyA, []int64{1}, minDay, maxDay); ok || err != nil {
			t.Fatalf("Rollups of an incomplete key: ok %v, %v", ok, err)
		}
		if _, ok, err := s.Rollups(ctx, keyB, []int64{1}, minDay, maxDay); ok || err != nil {
			t.Fatalf("Rollups of an unknown key: ok %v, %v", ok, err)
		}
		if err := s.WriteUsers(ctx, keyA, nil, complete(5000)); err != nil {
			t.Fatal(err)
		}
		got := mustRollups(t, s, keyA, []int64{1, 2, -3, 4, 1}, math.MinInt64, math.MaxInt64)
		if len(got) != 4 {
			t.Fatalf("Rollups returned users %v, want 1, 2, -3, 4", slices.Collect(mapsKeys(got)))
		}
		sameCells(t, "user 1", got[1].Cells, odd)
		sameHours(t, "user 1", got[1].Hours, hours)
		samePieces(t, "user 1", got[1].Pieces, pieces)
		sameCells(t, "user 2", got[2].Cells, users[1].Cells)
		sameHours(t, "user 2", got[2].Hours, users[1].Hours)
		for id, u := range got {
			if u.NoHours {
				t.Errorf("user %d: days written now read as without hours", id)
			}
		}
		sameCells(t, "user -3", got[-3].Cells, users[2].Cells)
		// Horizons: min(CompiledTo, the key's), the key's without a state.
		for id, want := range map[int64]int64{1: 5000, 2: 1000, -3: math.MinInt64 + 1, 4: 5000} {
			if got[id].Horizon != want || got[id].From != 0 {
				t.Errorf("user %d: horizon %d from %d, want %d, 0", id, got[id].Horizon, got[id].From, want)
			}
		}
		if len(got[4].Cells)+len(got[4].Hours)+len(got[4].Pieces) != 0 {
			t.Errorf("user 4 has rollups: %+v", got[4])
		}
		// Day ranges.
		for _, r := range []struct{ from, to aggregation.Day }{{-1, 0}, {0, 0}, {1, 20000}, {minDay, -1}, {-1 << 40, 1 << 40}, {5, 4}} {
			g := mustRollups(t, s, keyA, []int64{1}, r.from, r.to)[1]
			var wc []aggregation.RollupEntry
			for _, c := range odd {
				if c.Key.Day >= r.from && c.Key.Day <= r.to {
					wc = append(wc, c)
				}
			}
			var wh []aggregation.HourEntry
			for _, h := range hours {
				if h.Key.Day >= r.from && h.Key.Day <= r.to {
					wh = append(wh, h)
				}
			}
			var wp []aggregation.SessionPiece
			for _, p := range pieces {
				if p.Day >= r.from && p.Day <= r.to {
					wp = append(wp, p)
				}
			}
			sameCells(t, fmt.Sprintf("days %d..%d", r.from, r.to), g.Cells, wc)
			sameHours(t, fmt.Sprintf("days %d..%d", r.from, r.to), g.Hours, wh)
			samePieces(t, fmt.Sprintf("days %d..%d", r.from, r.to), g.Pieces, wp)
			sameSummaries(t, s, keyA, []int64{1, 2, -3, 4}, r.from, r.to)
		}
		// No users: ok tells whether the key is complete.
		if u, ok, err := s.Rollups(ctx, keyA, nil, 0, 1); err != nil || !ok || len(u) != 0 {
			t.Errorf("Rollups(no users) = %v, %v, %v", u, ok, err)
		}
		st, err := s.CompileState(ctx, keyA)
		if err != nil {
			t.Fatal(err)
		}
		if want := (aggregation.CompileState{Complete: true, Horizon: 5000, Watermark: 500, Gaps: []int64{497, 499}}); !reflect.DeepEqual(st, want) {
			t.Errorf("CompileState = %+v, want %+v", st, want)
		}
	})
}

// sameSummaries checks that the days' summaries read back are those of
// the days' cells and hours read back.
func sameSummaries(t *testing.T, s *store.Store, key aggregation.CompileKey, users []int64, from, to aggregation.Day) {
	t.Helper()
	got, ok, err := s.RollupSummaries(context.Background(), key, users, from, to)
	if err != nil || !ok {
		t.Fatalf("RollupSummaries: ok %v, %v", ok, err)
	}
	days := mustRollups(t, s, key, users, from, to)
	for _, id := range users {
		g := got[id]
		if g == nil {
			t.Fatalf("user %d: no summaries", id)
		}
		slices.SortFunc(g.Days, func(a, b aggregation.DaySummary) int { return cmp.Compare(a.Day, b.Day) })
		want := rolluptest.Summaries(days[id])
		if len(want.Days) == 0 {
			want.Days = nil
		}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("user %d, days %d..%d: summaries\n%+v\nwant\n%+v", id, from, to, g, want)
		}
	}
}

// More users than one statement lists.
func TestRollupsManyUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		var users []aggregation.UserCompile
		var ids []int64
		for id := int64(1); id <= 4500; id++ {
			ids = append(ids, id)
			if id%2 == 0 {
				users = append(users, aggregation.UserCompile{UserID: id, FromDay: minDay,
					Cells: []aggregation.RollupEntry{cell(id, 1, id)}, Hours: []aggregation.HourEntry{hour(id, 1, id)},
					Pieces: []aggregation.SessionPiece{piece(id, 1, id)},
					State:  aggregation.UserState{CompiledTo: id, LastTime: id}})
			}
		}
		if err := s.WriteUsers(ctx, keyA, users, complete(10_000)); err != nil {
			t.Fatal(err)
		}
		got := mustRollups(t, s, keyA, ids, minDay, maxDay)
		if len(got) != len(ids) {
			t.Fatalf("%d users, want %d", len(got), len(ids))
		}
		for _, id := range ids {
			u := got[id]
			wantH, wantN := int64(10_000), 0
			if id%2 == 0 {
				wantH, wantN = id, 1
			}
			if u.Horizon != wantH || len(u.Cells) != wantN || len(u.Hours) != wantN || len(u.Pieces) != wantN {
				t.Fatalf("user %d: horizon %d, %d cells, %d hours, %d pieces; want %d, %d, %d, %d", id, u.Horizon, len(u.Cells),
					len(u.Hours), len(u.Pieces), wantH, wantN, wantN, wantN)
			}
		}
		states, err := s.UserStates(ctx, keyA, ids)
		if err != nil || len(states) != len(users) {
			t.Fatalf("UserStates: %d states, %v; want %d", len(states), err, len(users))
		}
	})
}

func TestWriteUsersFromDay(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		var old []aggregation.RollupEntry
		var oldH []aggregation.HourEntry
		var oldP []aggregation.SessionPiece
		for d := aggregation.Day(1); d <= 5; d++ {
			old = append(old, cell(7, d, 1), cell(7, d, 2))
			oldH = append(oldH, hour(7, d, 1), hour(7, d, 2))
			oldP = append(oldP, piece(7, d, 100))
		}
		other := aggregation.UserCompile{UserID: 8, FromDay: minDay, Cells: []aggregation.RollupEntry{cell(8, 4, 1)},
			Hours:  []aggregation.HourEntry{hour(8, 4, 1)},
			Pieces: []aggregation.SessionPiece{piece(8, 4, 5)}, State: aggregation.UserState{CompiledTo: 10, LastTime: 11}}
		if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{
			{UserID: 7, FromDay: minDay, Cells: old, Hours: oldH, Pieces: oldP, State: aggregation.UserState{CompiledTo: 100, LastTime: 50}},
			other,
		}, complete(math.MaxInt64)); err != nil {
			t.Fatal(err)
		}
		// Days ≥ 3 replaced: 3 and 4 get new cells, 5 loses its own.
		repl := []aggregation.RollupEntry{cell(7, 3, 5), cell(7, 4, 1)}
		replH := []aggregation.HourEntry{hour(7, 3, 5), hour(7, 4, 1)}
		replP := []aggregation.SessionPiece{piece(7, 3, 200)}
		if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{
			{UserID: 7, FromDay: 3, Cells: repl, Hours: replH, Pieces: replP, State: aggregation.UserState{CompiledTo: 300, LastTime: 310}},
		}, nil); err != nil {
			t.Fatal(err)
		}
		got := mustRollups(t, s, keyA, []int64{7, 8}, minDay, maxDay)
		sameCells(t, "user 7", got[7].Cells, append(slices.Clone(old[:4]), repl...))
		sameHours(t, "user 7", got[7].Hours, append(slices.Clone(oldH[:4]), replH...))
		samePieces(t, "user 7", got[7].Pieces, append(slices.Clone(oldP[:2]), replP...))
		sameCells(t, "user 8", got[8].Cells, other.Cells)
		sameHours(t, "user 8", got[8].Hours, other.Hours)
		samePieces(t, "user 8", got[8].Pieces, other.Pieces)
		if got[7].Horizon != 300 {
			t.Errorf("user 7 horizon %d, want 300", got[7].Horizon)
		}
		states, err := s.UserStates(ctx, keyA, []int64{7, 8, 9})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]aggregation.UserState{7: {CompiledTo: 300, LastTime: 310}, 8: {CompiledTo: 10, LastTime: 11}}
		if !reflect.DeepEqual(states, want) {
			t.Errorf("UserStates = %v, want %v", states, want)
		}
		// All days replaced by nothing.
		if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{{UserID: 7, FromDay: minDay}}, nil); err != nil {
			t.Fatal(err)
		}
		got = mustRollups(t, s, keyA, []int64{7}, minDay, maxDay)
		if len(got[7].Cells)+len(got[7].Hours)+len(got[7].Pieces) != 0 || got[7].Horizon != 0 {
			t.Errorf("user 7 after an empty compile: %+v", got[7])
		}
	})
}

func TestWriteUsersRefuses(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		for name, users := range map[string][]aggregation.UserCompile{
			"foreign cell":  {{UserID: 1, Cells: []aggregation.RollupEntry{cell(2, 1, 1)}}},
			"foreign piece": {{UserID: 1, Pieces: []aggregation.SessionPiece{piece(2, 1, 1)}}},
			"foreign hour":  {{UserID: 1, Hours: []aggregation.HourEntry{hour(2, 1, 1)}}},
			"user twice":    {{UserID: 1}, {UserID: 1}},
		} {
			wantCode(t, name, s.WriteUsers(ctx, keyA, users, nil), aggregation.EInvalid)
		}
		wantCode(t, "unknown zone", s.WriteUsers(ctx, aggregation.CompileKey{Policy: "p", Zone: "Mars/Base"}, nil, nil), aggregation.EInvalid)
		wantCode(t, "no policy", s.WriteUsers(ctx, aggregation.CompileKey{Zone: "UTC"}, nil, nil), aggregation.EInvalid)
		wantCode(t, "duplicate cell", s.WriteUsers(ctx, keyA, []aggregation.UserCompile{
			{UserID: 1, FromDay: minDay, Cells: []aggregation.RollupEntry{cell(1, 1, 1), cell(1, 2, 1), cell(1, 1, 1)}},
		}, nil), aggregation.EInvalid)
		wantCode(t, "duplicate hour", s.WriteUsers(ctx, keyA, []aggregation.UserCompile{
			{UserID: 1, FromDay: minDay, Hours: []aggregation.HourEntry{hour(1, 1, 1), hour(1, 2, 1), hour(1, 1, 1)}},
		}, nil), aggregation.EInvalid)
		wantCode(t, "duplicate piece", s.WriteUsers(ctx, keyA, []aggregation.UserCompile{
			{UserID: 1, FromDay: minDay, Pieces: []aggregation.SessionPiece{piece(1, 1, 1), piece(1, 2, 1), piece(1, 1, 1)}},
		}, nil), aggregation.EInvalid)
		// Two pieces ending with one log id is a database error, and
		// nothing of the batch stays.
		p1, p2 := piece(1, 1, 1), piece(1, 1, 2)
		p2.LastID = p1.LastID
		err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{
			{UserID: 3, FromDay: minDay, State: aggregation.UserState{CompiledTo: 1}},
			{UserID: 1, FromDay: minDay, Cells: []aggregation.RollupEntry{cell(1, 1, 1)}, Pieces: []aggregation.SessionPiece{p1, p2}},
		}, complete(10))
		wantCode(t, "one last id twice", err, aggregation.EInternal)
		if st, err := s.UserStates(ctx, keyA, []int64{1, 3}); err != nil || len(st) != 0 {
			t.Errorf("after a failed write: states %v, %v", st, err)
		}
		if st, err := s.CompileState(ctx, keyA); err != nil || st.Complete {
			t.Errorf("after a failed write: state %+v, %v", st, err)
		}
	})
}

func TestCompileStateUnknown(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		s := openStore(t, dsn)
		st, err := s.CompileState(context.Background(), keyB)
		if err != nil || !reflect.DeepEqual(st, aggregation.CompileState{}) {
			t.Errorf("CompileState(unknown) = %+v, %v", st, err)
		}
		keys, err := s.Keys(context.Background())
		if err != nil || len(keys) != 0 {
			t.Errorf("Keys = %v, %v", keys, err)
		}
	})
}

func shards(bounds ...int64) []aggregation.Shard {
	var out []aggregation.Shard
	for i := 0; i+1 < len(bounds); i++ {
		out = append(out, aggregation.Shard{Lo: bounds[i], Hi: bounds[i+1]})
	}
	return out
}

func TestBeginRun(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		// A complete key with rollups and a retention mark.
		if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{{UserID: 5, FromDay: minDay,
			Cells: []aggregation.RollupEntry{cell(5, 1, 1)}, Pieces: []aggregation.SessionPiece{piece(5, 1, 1)},
			State: aggregation.UserState{CompiledTo: 9, LastTime: 9}}}, complete(100)); err != nil {
			t.Fatal(err)
		}
		if err := s.Retain(ctx, keyA, 3600); err != nil {
			t.Fatal(err)
		}
		// A complete key is left alone: another worker finished its run.
		if run, err := s.BeginRun(ctx, keyA, aggregation.CompileRun{Horizon: 700, Watermark: 800}, shards(0, 10)); err != nil || run.ID != 0 {
			t.Fatalf("BeginRun on a complete key = %+v, %v; want the zero run", run, err)
		}
		if got := mustRollups(t, s, keyA, []int64{5}, minDay, maxDay); len(got[5].Cells) != 1 {
			t.Fatalf("BeginRun on a complete key cleared it: %+v", got[5])
		}
		// A key that is not complete (its rules changed, a run died) starts clean.
		if err := s.WriteUsers(ctx, keyA, nil, &aggregation.CompileState{Complete: false, Horizon: 100, RetainFrom: 3600}); err != nil {
			t.Fatal(err)
		}
		run, err := s.BeginRun(ctx, keyA, aggregation.CompileRun{ID: 42, Horizon: 700, Watermark: 800, Gaps: []int64{799}}, shards(0, 10, 20))
		if err != nil {
			t.Fatal(err)
		}
		if run.ID == 0 || run.Horizon != 700 || run.Watermark != 800 || !slices.Equal(run.Gaps, []int64{799}) {
			t.Fatalf("BeginRun = %+v", run)
		}
		// A second call joins the run, whatever it asks.
		again, err := s.BeginRun(ctx, keyA, aggregation.CompileRun{Horizon: 1, Watermark: 2}, shards(0, 5))
		if err != nil || !reflect.DeepEqual(again, run) {
			t.Fatalf("BeginRun again = %+v, %v; want %+v", again, err, run)
		}
		st, err := s.CompileState(ctx, keyA)
		if err != nil {
			t.Fatal(err)
		}
		if want := (aggregation.CompileState{Run: run}); !reflect.DeepEqual(st, want) {
			t.Errorf("state during the run = %+v, want %+v", st, want)
		}
		// The key starts clean.
		if _, ok, err := s.Rollups(ctx, keyA, []int64{5}, minDay, maxDay); ok || err != nil {
			t.Errorf("Rollups during the run: ok %v, %v", ok, err)
		}
		if states, err := s.UserStates(ctx, keyA, []int64{5}); err != nil || len(states) != 0 {
			t.Errorf("states after BeginRun: %v, %v", states, err)
		}
		// The shards of the second call were not added: two to claim.
		var got []aggregation.Shard
		for {
			c, ok, err := s.ClaimShard(ctx, keyA, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, c.Shard())
			if err := c.Done(ctx); err != nil {
				t.Fatal(err)
			}
		}
		want := []aggregation.Shard{{RunID: run.ID, Lo: 0, Hi: 10}, {RunID: run.ID, Lo: 10, Hi: 20}}
		if !slices.Equal(got, want) {
			t.Errorf("claimed %v, want %v", got, want)
		}
		finished, err := s.FinishRun(ctx, keyA, run.ID)
		if err != nil || !finished {
			t.Fatalf("FinishRun = %v, %v", finished, err)
		}
		st, err = s.CompileState(ctx, keyA)
		if err != nil {
			t.Fatal(err)
		}
		if want := (aggregation.CompileState{Complete: true, Horizon: 700, Watermark: 800, Gaps: []int64{799}}); !reflect.DeepEqual(st, want) {
			t.Errorf("state after the run = %+v, want %+v", st, want)
		}
		// Idempotent.
		if finished, err := s.FinishRun(ctx, keyA, run.ID); err != nil || !finished {
			t.Errorf("FinishRun again = %v, %v", finished, err)
		}
		// A new run (of a key made incomplete again) gets a new id.
		if err := s.WriteUsers(ctx, keyA, nil, &aggregation.CompileState{}); err != nil {
			t.Fatal(err)
		}
		run2, err := s.BeginRun(ctx, keyA, aggregation.CompileRun{Horizon: 1}, nil)
		if err != nil || run2.ID == run.ID || run2.ID == 0 {
			t.Fatalf("second run = %+v, %v (first %d)", run2, err, run.ID)
		}
		if finished, err := s.FinishRun(ctx, keyA, run.ID); err != nil || finished {
			t.Errorf("FinishRun(old run) during a new one = %v, %v", finished, err)
		}
		if finished, err := s.FinishRun(ctx, keyA, run2.ID); err != nil || !finished {
			t.Errorf("FinishRun(run without shards) = %v, %v", finished, err)
		}
		if finished, err := s.FinishRun(ctx, keyB, 1); err != nil || finished {
			t.Errorf("FinishRun(unknown key) = %v, %v", finished, err)
		}
		wantCode(t, "empty shard", func() error {
			_, err := s.BeginRun(ctx, keyB, aggregation.CompileRun{}, shards(5, 5))
			return err
		}(), aggregation.EInvalid)
	})
}

// Instances starting a run at once all join one run.
func TestBeginRunConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		const n = 6
		runs := make([]aggregation.CompileRun, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		s := openStore(t, dsn)
		for i := range n {
			if strings.HasPrefix(dsn, "postgres") { // one store per instance; SQLite is single-process
				s = openStore(t, dsn)
			}
			wg.Go(func() {
				runs[i], errs[i] = s.BeginRun(ctx, keyA, aggregation.CompileRun{Horizon: int64(i)}, shards(0, 5, 10))
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !reflect.DeepEqual(runs[i], runs[0]) {
				t.Errorf("run %d = %+v, run 0 = %+v", i, runs[i], runs[0])
			}
		}
	})
}

// claimUsers writes one user per shard bound through the claim.
func claimWrite(t *testing.T, c aggregation.ShardClaim, day aggregation.Day) {
	t.Helper()
	sh := c.Shard()
	if err := c.Write(context.Background(), []aggregation.UserCompile{{UserID: sh.Lo, FromDay: minDay,
		Cells: []aggregation.RollupEntry{cell(sh.Lo, day, 1)}, Pieces: []aggregation.SessionPiece{piece(sh.Lo, day, 3)},
		State: aggregation.UserState{CompiledTo: math.MaxInt64, LastTime: 5}}}); err != nil {
		t.Fatal(err)
	}
}

func mustClaim(t *testing.T, s *store.Store, ctx context.Context, runID int64) aggregation.ShardClaim {
	t.Helper()
	c, ok, err := s.ClaimShard(ctx, keyA, runID)
	if err != nil || !ok {
		t.Fatalf("ClaimShard = ok %v, %v", ok, err)
	}
	return c
}

func TestClaims(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		run, err := s.BeginRun(ctx, keyA, aggregation.CompileRun{Horizon: 1000, Watermark: 50}, shards(1, 10, 20, 30))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.ClaimShard(ctx, keyA, run.ID+1); ok || err != nil {
			t.Errorf("ClaimShard(other run) = %v, %v", ok, err)
		}
		if _, ok, err := s.ClaimShard(ctx, keyB, run.ID); ok || err != nil {
			t.Errorf("ClaimShard(unknown key) = %v, %v", ok, err)
		}
		// Aborted: nothing written, the shard is free again.
		c := mustClaim(t, s, ctx, run.ID)
		if c.Shard() != (aggregation.Shard{RunID: run.ID, Lo: 1, Hi: 10}) {
			t.Fatalf("first claim %+v", c.Shard())
		}
		claimWrite(t, c, 1)
		wantCode(t, "user outside the shard", c.Write(ctx, []aggregation.UserCompile{{UserID: 10}}), aggregation.EInvalid)
		if err := c.Abort(); err != nil {
			t.Fatal(err)
		}
		if err := c.Abort(); err != nil {
			t.Errorf("second Abort: %v", err)
		}
		wantCode(t, "Write after Abort", c.Write(ctx, nil), aggregation.EInvalid)
		wantCode(t, "Done after Abort", c.Done(ctx), aggregation.EInvalid)
		if st, err := s.UserStates(ctx, keyA, []int64{1}); err != nil || len(st) != 0 {
			t.Errorf("after Abort: states %v, %v", st, err)
		}
		// A claim whose context ends is rolled back.
		cctx, cancel := context.WithCancel(ctx)
		c = mustClaim(t, s, cctx, run.ID)
		if c.Shard().Lo != 1 {
			t.Fatalf("after Abort, claimed %+v", c.Shard())
		}
		claimWrite(t, c, 1)
		cancel()
		if err := c.Done(ctx); err == nil {
			t.Error("Done after the claim's context ended succeeded")
		}
		c.Abort()
		// Done commits.
		c = mustClaim(t, s, ctx, run.ID)
		if c.Shard().Lo != 1 {
			t.Fatalf("after a cancelled claim, claimed %+v", c.Shard())
		}
		claimWrite(t, c, 2)
		if err := c.Done(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Abort(); err != nil {
			t.Errorf("Abort after Done: %v", err)
		}
		if st, err := s.UserStates(ctx, keyA, []int64{1}); err != nil || len(st) != 1 {
			t.Errorf("after Done: states %v, %v", st, err)
		}
		// The other shards, then none.
		for _, lo := range []int64{10, 20} {
			c := mustClaim(t, s, ctx, run.ID)
			if c.Shard().Lo != lo {
				t.Fatalf("claimed %+v, want lo %d", c.Shard(), lo)
			}
			if s.Kind() == dbconn.Postgres { // on SQLite it would wait for the claim's connection
				if finished, err := s.FinishRun(ctx, keyA, run.ID); err != nil || finished {
					t.Errorf("FinishRun with a shard claimed = %v, %v", finished, err)
				}
			}
			claimWrite(t, c, 3)
			if err := c.Done(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, err := s.ClaimShard(ctx, keyA, run.ID); ok || err != nil {
			t.Errorf("ClaimShard with every shard done = %v, %v", ok, err)
		}
		if finished, err := s.FinishRun(ctx, keyA, run.ID); err != nil || !finished {
			t.Fatalf("FinishRun = %v, %v", finished, err)
		}
		got := mustRollups(t, s, keyA, []int64{1, 10, 20}, minDay, maxDay)
		sameCells(t, "user 1", got[1].Cells, []aggregation.RollupEntry{cell(1, 2, 1)})
		sameCells(t, "user 10", got[10].Cells, []aggregation.RollupEntry{cell(10, 3, 1)})
		samePieces(t, "user 20", got[20].Pieces, []aggregation.SessionPiece{piece(20, 3, 3)})
		if got[1].Horizon != 1000 {
			t.Errorf("horizon %d, want the run's 1000", got[1].Horizon)
		}
	})
}

// PostgreSQL: workers of several processes share a run's shards.
func TestClaimsConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		if !strings.HasPrefix(dsn, "postgres") {
			t.Skip("SQLite stores are single-process: claims take turns on the writer connection")
		}
		ctx := context.Background()
		// The second worker's sessions are named, to find and kill them.
		s1, s2 := openStore(t, dsn), openStore(t, dsn+"&application_name=usestats_dying")
		run, err := s1.BeginRun(ctx, keyA, aggregation.CompileRun{Horizon: 1000}, shards(0, 10, 20, 30))
		if err != nil {
			t.Fatal(err)
		}
		a := mustClaim(t, s1, ctx, run.ID)
		b := mustClaim(t, s2, ctx, run.ID)
		c := mustClaim(t, s1, ctx, run.ID)
		if a.Shard().Lo != 0 || b.Shard().Lo != 10 || c.Shard().Lo != 20 {
			t.Fatalf("claims %v %v %v", a.Shard(), b.Shard(), c.Shard())
		}
		if _, ok, err := s2.ClaimShard(ctx, keyA, run.ID); ok || err != nil {
			t.Fatalf("a fourth claim: %v, %v", ok, err)
		}
		claimWrite(t, b, 1)
		// A worker that dies: its connections close, the server rolls back.
		s3 := openStore(t, dsn)
		if _, ok, err := s3.ClaimShard(ctx, keyA, run.ID); ok || err != nil {
			t.Fatalf("claim on a third store: %v, %v", ok, err)
		}
		claimWrite(t, a, 1)
		claimWrite(t, c, 1)
		if err := a.Done(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Done(ctx); err != nil {
			t.Fatal(err)
		}
		// b's process dies mid-shard: the server loses its session.
		var killed int
		if err := store.RawDB(s1).NewRaw("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "+
			"WHERE application_name = 'usestats_dying' AND state = 'idle in transaction'").Scan(ctx, &killed); err != nil || killed != 1 {
			t.Fatalf("killed %d sessions, %v", killed, err)
		}
		b.Abort()
		// The server ends the killed session's transaction a moment later.
		var e aggregation.ShardClaim
		for deadline := time.Now().Add(10 * time.Second); ; {
			c, ok, err := s3.ClaimShard(ctx, keyA, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				e = c
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the dead worker's shard is never claimable again")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if e.Shard().Lo != 10 {
			t.Fatalf("after a worker died, claimed %v", e.Shard())
		}
		if st, err := s3.UserStates(ctx, keyA, []int64{10}); err != nil || len(st) != 0 {
			t.Errorf("the dead worker's writes: %v, %v", st, err)
		}
		claimWrite(t, e, 2)
		if err := e.Done(ctx); err != nil {
			t.Fatal(err)
		}
		if finished, err := s3.FinishRun(ctx, keyA, run.ID); err != nil || !finished {
			t.Fatalf("FinishRun = %v, %v", finished, err)
		}
		got := mustRollups(t, s1, keyA, []int64{0, 10, 20}, minDay, maxDay)
		sameCells(t, "user 10", got[10].Cells, []aggregation.RollupEntry{cell(10, 2, 1)})
		sameCells(t, "user 20", got[20].Cells, []aggregation.RollupEntry{cell(20, 1, 1)})
	})
}

func TestSessionKeysPendingUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{
			{UserID: 1, Pieces: []aggregation.SessionPiece{
				{UserID: 1, Key: 100, Day: 1, FirstID: 100, LastID: 110},
				{UserID: 1, Key: 100, Day: 2, FirstID: 111, LastID: 120, PrevLastID: 110},
				{UserID: 1, Key: 130, Day: 2, FirstID: 130, LastID: 140}},
				State: aggregation.UserState{CompiledTo: 500, LastTime: 400}},
			{UserID: 2, Pieces: []aggregation.SessionPiece{{UserID: 2, Key: 7, Day: 1, FirstID: 7, LastID: 110}},
				State: aggregation.UserState{CompiledTo: 500, LastTime: 600}},
			{UserID: 3, State: aggregation.UserState{CompiledTo: math.MinInt64 + 1, LastTime: math.MinInt64}},
		}, nil); err != nil {
			t.Fatal(err)
		}
		// The same pieces under another key do not answer.
		if err := s.WriteUsers(ctx, keyB, []aggregation.UserCompile{
			{UserID: 1, Pieces: []aggregation.SessionPiece{{UserID: 1, Key: 999, Day: 3, LastID: 150}}},
		}, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.SessionKeys(ctx, keyA, [][2]int64{{1, 110}, {1, 120}, {1, 140}, {2, 110}, {1, 111}, {1, 150}, {3, 1}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[[2]int64]int64{{1, 110}: 100, {1, 120}: 100, {1, 140}: 130, {2, 110}: 7}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SessionKeys = %v, want %v", got, want)
		}
		if got, err := s.SessionKeys(ctx, keyA, nil); err != nil || len(got) != 0 {
			t.Errorf("SessionKeys(nothing) = %v, %v", got, err)
		}
		for since, want := range map[int64][]int64{400: {1, 2}, 401: {2}, 601: nil, math.MinInt64: {1, 2, 3}} {
			got, err := s.PendingUsers(ctx, keyA, since)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("PendingUsers(%d) = %v, %v; want %v", since, got, err, want)
			}
		}
		if got, err := s.PendingUsers(ctx, aggregation.CompileKey{Policy: "x", Zone: "UTC"}, 0); err != nil || len(got) != 0 {
			t.Errorf("PendingUsers(unknown key) = %v, %v", got, err)
		}
	})
}

func TestForgetUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		for _, key := range []aggregation.CompileKey{keyA, keyB} {
			var users []aggregation.UserCompile
			for id := int64(1); id <= 3; id++ {
				users = append(users, aggregation.UserCompile{UserID: id, FromDay: minDay,
					Cells: []aggregation.RollupEntry{cell(id, 1, 1)}, Hours: []aggregation.HourEntry{hour(id, 1, 1)},
					Pieces: []aggregation.SessionPiece{piece(id, 1, 1)}, State: aggregation.UserState{CompiledTo: 10, LastTime: 20}})
			}
			if err := s.WriteUsers(ctx, key, users, complete(100)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ForgetUsers(ctx, []int64{1, 3, 99}); err != nil {
			t.Fatal(err)
		}
		if err := s.ForgetUsers(ctx, nil); err != nil {
			t.Fatal(err)
		}
		for _, key := range []aggregation.CompileKey{keyA, keyB} {
			got := mustRollups(t, s, key, []int64{1, 2, 3}, minDay, maxDay)
			for id, n := range map[int64]int{1: 0, 2: 1, 3: 0} {
				if len(got[id].Cells) != n || len(got[id].Hours) != n || len(got[id].Pieces) != n {
					t.Errorf("%s user %d: %d cells, %d hours, %d pieces; want %d", key, id, len(got[id].Cells), len(got[id].Hours),
						len(got[id].Pieces), n)
				}
			}
			states, err := s.UserStates(ctx, key, []int64{1, 2, 3})
			if err != nil || len(states) != 3 || states[2].CompiledTo != 10 ||
				states[1] != aggregation.Forgotten || states[3] != aggregation.Forgotten {
				t.Errorf("%s states %v, %v; want 1 and 3 forgotten", key, states, err)
			}
		}
		// Nothing else of a user is left in the store's tables.
		for _, table := range []string{"usestats_rollup_days", "usestats_session_ends"} {
			var n int
			if err := store.RawDB(s).NewRaw("SELECT COUNT(*) FROM "+table+" WHERE user_id IN (1, 3)").Scan(ctx, &n); err != nil || n != 0 {
				t.Errorf("%s: %d rows of forgotten users, %v", table, n, err)
			}
		}
	})
}

func TestRetain(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		// 2025-03-10 00:30 in Paris is still 2025-03-09 in UTC.
		tcut := time.Date(2025, 3, 10, 0, 30, 0, 0, paris).Unix()
		cutDay, _ := aggregation.ParseDay("2025-03-10")
		var cells []aggregation.RollupEntry
		var hours []aggregation.HourEntry
		var pieces []aggregation.SessionPiece
		for d := cutDay - 2; d <= cutDay+1; d++ {
			cells = append(cells, cell(1, d, 1))
			hours = append(hours, hour(1, d, 1))
			pieces = append(pieces, piece(1, d, 5))
		}
		for _, key := range []aggregation.CompileKey{keyB, keyA} {
			if err := s.WriteUsers(ctx, key, []aggregation.UserCompile{{UserID: 1, FromDay: minDay, Cells: cells, Hours: hours, Pieces: pieces,
				State: aggregation.UserState{CompiledTo: math.MaxInt64}}}, complete(math.MaxInt64)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Retain(ctx, keyB, tcut); err != nil {
			t.Fatal(err)
		}
		got := mustRollups(t, s, keyB, []int64{1}, minDay, maxDay)[1]
		sameCells(t, "kept", got.Cells, cells[2:])
		sameHours(t, "kept", got.Hours, hours[2:])
		samePieces(t, "kept", got.Pieces, pieces[2:])
		if got.From != tcut {
			t.Errorf("From = %d, want %d", got.From, tcut)
		}
		// The same time in UTC is the day before.
		if err := s.Retain(ctx, keyA, tcut); err != nil {
			t.Fatal(err)
		}
		got = mustRollups(t, s, keyA, []int64{1}, minDay, maxDay)[1]
		sameCells(t, "kept (UTC)", got.Cells, cells[1:])
		sameHours(t, "kept (UTC)", got.Hours, hours[1:])
		// RetainFrom never goes back.
		if err := s.Retain(ctx, keyB, tcut-86400*10); err != nil {
			t.Fatal(err)
		}
		if st, err := s.CompileState(ctx, keyB); err != nil || st.RetainFrom != tcut {
			t.Errorf("RetainFrom = %d, %v; want %d", st.RetainFrom, err, tcut)
		}
		wantCode(t, "Retain(unknown zone)", s.Retain(ctx, aggregation.CompileKey{Policy: "p", Zone: "Nowhere/Land"}, 0), aggregation.EInvalid)
	})
}

func TestKeysDropKey(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		for _, key := range []aggregation.CompileKey{keyA, keyB} {
			if err := s.WriteUsers(ctx, key, []aggregation.UserCompile{{UserID: 1, FromDay: minDay,
				Cells: []aggregation.RollupEntry{cell(1, 1, 1)}, Pieces: []aggregation.SessionPiece{piece(1, 1, 1)},
				State: aggregation.UserState{CompiledTo: 5}}}, complete(10)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.BeginRun(ctx, keyB, aggregation.CompileRun{}, shards(0, 1)); err != nil {
			t.Fatal(err)
		}
		keys, err := s.Keys(ctx)
		if err != nil || !slices.Equal(keys, []aggregation.CompileKey{keyA, keyB}) {
			t.Fatalf("Keys = %v, %v", keys, err)
		}
		if err := s.DropKey(ctx, keyB); err != nil {
			t.Fatal(err)
		}
		if err := s.DropKey(ctx, keyB); err != nil {
			t.Errorf("DropKey(dropped) = %v", err)
		}
		if keys, err := s.Keys(ctx); err != nil || !slices.Equal(keys, []aggregation.CompileKey{keyA}) {
			t.Errorf("Keys after DropKey = %v, %v", keys, err)
		}
		if st, err := s.CompileState(ctx, keyB); err != nil || !reflect.DeepEqual(st, aggregation.CompileState{}) {
			t.Errorf("state of a dropped key = %+v, %v", st, err)
		}
		got := mustRollups(t, s, keyA, []int64{1}, minDay, maxDay)
		if len(got[1].Cells) != 1 {
			t.Errorf("the other key lost its cells: %+v", got[1])
		}
		for _, table := range []string{"usestats_rollup_days", "usestats_session_ends", "usestats_compile_users", "usestats_compile_shards"} {
			var n int
			if err := store.RawDB(s).NewRaw("SELECT COUNT(*) FROM "+table).Scan(ctx, &n); err != nil || n != map[bool]int{true: 0, false: 1}[table == "usestats_compile_shards"] {
				t.Errorf("%s: %d rows, %v", table, n, err)
			}
		}
		// A key compiled again after a drop starts from nothing.
		if err := s.WriteUsers(ctx, keyB, nil, nil); err != nil {
			t.Fatal(err)
		}
		if st, err := s.CompileState(ctx, keyB); err != nil || !reflect.DeepEqual(st, aggregation.CompileState{}) {
			t.Errorf("state of a recreated key = %+v, %v", st, err)
		}
	})
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Advance moves the state only from the state the pass read; a forgotten
// user is not partly rewritten.
func TestAdvanceAndForgottenGuard(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{{UserID: 5, FromDay: minDay,
			Cells: []aggregation.RollupEntry{cell(5, 1, 1)}, State: aggregation.UserState{CompiledTo: math.MaxInt64, LastTime: 9}}}, complete(100)); err != nil {
			t.Fatal(err)
		}
		from, err := s.CompileState(ctx, keyA)
		if err != nil {
			t.Fatal(err)
		}
		next := from
		next.Horizon, next.Watermark = 200, 50
		write := []aggregation.UserCompile{{UserID: 5, FromDay: 2, Cells: []aggregation.RollupEntry{cell(5, 2, 1)},
			State: aggregation.UserState{CompiledTo: math.MaxInt64, LastTime: 10}}}
		stale := from
		stale.Horizon = 99
		if err := s.Advance(ctx, keyA, write, stale, next); !errors.Is(err, aggregation.ErrStateMoved) {
			t.Fatalf("Advance from a stale state = %v, want ErrStateMoved", err)
		}
		if got := mustRollups(t, s, keyA, []int64{5}, minDay, maxDay); len(got[5].Cells) != 1 {
			t.Fatalf("a refused Advance wrote: %+v", got[5].Cells)
		}
		if err := s.Advance(ctx, keyA, write, from, next); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.CompileState(ctx, keyA); st.Horizon != 200 || st.Watermark != 50 {
			t.Fatalf("state after Advance = %+v", st)
		}
		if got := mustRollups(t, s, keyA, []int64{5}, minDay, maxDay); len(got[5].Cells) != 2 {
			t.Fatalf("cells after Advance = %+v", got[5].Cells)
		}
		// Forgotten, then a pass that read the user before writes part of
		// its days: skipped. A full rewrite is not.
		if err := s.ForgetUsers(ctx, []int64{5}); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteUsers(ctx, keyA, write, nil); err != nil {
			t.Fatal(err)
		}
		if states, _ := s.UserStates(ctx, keyA, []int64{5}); states[5] != aggregation.Forgotten {
			t.Fatalf("a partial write replaced the forgotten state: %+v", states[5])
		}
		if got := mustRollups(t, s, keyA, []int64{5}, minDay, maxDay); len(got[5].Cells) != 0 {
			t.Fatalf("a partial write brought cells back: %+v", got[5].Cells)
		}
		write[0].FromDay = minDay
		if err := s.WriteUsers(ctx, keyA, write, nil); err != nil {
			t.Fatal(err)
		}
		if got := mustRollups(t, s, keyA, []int64{5}, minDay, maxDay); len(got[5].Cells) != 1 {
			t.Fatalf("a full rewrite of a forgotten user was skipped: %+v", got[5].Cells)
		}
	})
}

// A user's version is the same in Rollups and RollupVersions, stays while
// nothing is written for the user, and changes with every write of its
// days and with a forget; a user without a state has version 0.
func TestRollupVersions(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		write := func(user int64, state *aggregation.CompileState) {
			t.Helper()
			u := aggregation.UserCompile{UserID: user, FromDay: minDay, Cells: []aggregation.RollupEntry{cell(user, 4, 1)},
				State: aggregation.UserState{CompiledTo: 10, LastTime: 11}}
			if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{u}, state); err != nil {
				t.Fatal(err)
			}
		}
		versions := func() map[int64]*aggregation.UserRollups {
			t.Helper()
			vs, ok, err := s.RollupVersions(ctx, keyA, []int64{7, 8, 9})
			if err != nil || !ok {
				t.Fatalf("RollupVersions = ok %v, %v", ok, err)
			}
			full := mustRollups(t, s, keyA, []int64{7, 8, 9}, minDay, maxDay)
			for id, v := range vs {
				if len(v.Cells)+len(v.Pieces) != 0 {
					t.Errorf("user %d: RollupVersions returned days", id)
				}
				f := full[id]
				if v.Version != f.Version || v.Horizon != f.Horizon || v.From != f.From {
					t.Errorf("user %d: RollupVersions %+v, Rollups %+v", id, *v, *f)
				}
			}
			return vs
		}
		if _, ok, err := s.RollupVersions(ctx, keyA, []int64{7}); ok || err != nil {
			t.Fatalf("an unknown key: ok %v, %v", ok, err)
		}
		write(7, complete(math.MaxInt64))
		write(8, nil)
		v1 := versions()
		if v1[7].Version == 0 || v1[8].Version == 0 || v1[7].Version == v1[8].Version || v1[9].Version != 0 {
			t.Fatalf("versions after writing 7 and 8: %d, %d, %d", v1[7].Version, v1[8].Version, v1[9].Version)
		}
		write(8, nil)
		v2 := versions()
		if v2[7].Version != v1[7].Version || v2[8].Version == v1[8].Version {
			t.Errorf("after writing user 8 again: 7 %d → %d (want same), 8 %d → %d (want new)",
				v1[7].Version, v2[7].Version, v1[8].Version, v2[8].Version)
		}
		if err := s.ForgetUsers(ctx, []int64{7}); err != nil {
			t.Fatal(err)
		}
		if v3 := versions(); v3[7].Version == v2[7].Version || v3[8].Version != v2[8].Version {
			t.Errorf("after forgetting user 7: 7 %d → %d (want new), 8 %d → %d (want same)",
				v2[7].Version, v3[7].Version, v2[8].Version, v3[8].Version)
		}
		many := make([]int64, 2500) // more than one statement's list
		for i := range many {
			many[i] = int64(i + 1)
		}
		vs, ok, err := s.RollupVersions(ctx, keyA, many)
		if err != nil || !ok || len(vs) != len(many) || vs[8].Version == 0 || vs[100].Version != 0 {
			t.Errorf("RollupVersions of %d users: %d, ok %v, %v", len(many), len(vs), ok, err)
		}
	})
}

// Days stored without a summary (by a usestats before migration 0007)
// make their users Partial, so they are answered from the days' data;
// FillSummaries makes the missing summaries, equal to those a write
// makes, and finds nothing to do when run again.
func TestFillSummaries(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		var users []aggregation.UserCompile
		for u := int64(1); u <= 3; u++ {
			uc := aggregation.UserCompile{UserID: u, FromDay: minDay, State: aggregation.UserState{CompiledTo: math.MaxInt64, LastTime: 90}}
			for d := aggregation.Day(0); d < 1500; d++ {
				uc.Cells = append(uc.Cells, cell(u, d, int64(d)%9), cell(u, d, int64(d)%9+1))
				uc.Hours = append(uc.Hours, hour(u, d, int64(d)%7))
			}
			users = append(users, uc)
		}
		if err := s.WriteUsers(ctx, keyA, users, complete(5000)); err != nil {
			t.Fatal(err)
		}
		want, _, err := s.RollupSummaries(ctx, keyA, []int64{1, 2, 3}, minDay, maxDay)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.RawDB(s).ExecContext(ctx, "UPDATE usestats_rollup_days SET summary = NULL WHERE user_id <> 2 OR day < 10"); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.RollupSummaries(ctx, keyA, []int64{1, 2, 3}, minDay, maxDay)
		if err != nil {
			t.Fatal(err)
		}
		if !got[1].Partial || !got[2].Partial || got[2].Days == nil {
			t.Fatalf("days without a summary: partial %v, %v", got[1].Partial, got[2].Partial)
		}
		if got, _, _ := s.RollupSummaries(ctx, keyA, []int64{2}, 10, maxDay); got[2].Partial {
			t.Fatal("days with their summaries read as partial")
		}
		n, err := s.FillSummaries(ctx)
		if err != nil || n != 2*1500+10 {
			t.Fatalf("FillSummaries made %d, %v; want %d", n, err, 2*1500+10)
		}
		got, _, err = s.RollupSummaries(ctx, keyA, []int64{1, 2, 3}, minDay, maxDay)
		if err != nil {
			t.Fatal(err)
		}
		for id := range want {
			for _, m := range []map[int64]*aggregation.UserSummaries{want, got} {
				slices.SortFunc(m[id].Days, func(a, b aggregation.DaySummary) int { return cmp.Compare(a.Day, b.Day) })
			}
			if !reflect.DeepEqual(got[id], want[id]) {
				t.Errorf("user %d: filled summaries differ from written ones", id)
			}
		}
		if n, err := s.FillSummaries(ctx); n != 0 || err != nil {
			t.Errorf("FillSummaries again made %d, %v", n, err)
		}
	})
}
