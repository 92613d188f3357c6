package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/store"
)

// eachBenchDB runs f on a fresh store per engine, like eachDB.
func eachBenchDB(b *testing.B, f func(b *testing.B, s *store.Store)) {
	b.Run("sqlite", func(b *testing.B) {
		f(b, openStore(b, "sqlite://"+filepath.Join(b.TempDir(), "usestats.db")))
	})
	pg := os.Getenv("USESTATS_TEST_POSTGRES")
	if pg == "" {
		if os.Getenv("CI") == "true" {
			b.Fatal("USESTATS_TEST_POSTGRES is not set under CI")
		}
		b.Log("USESTATS_TEST_POSTGRES not set: PostgreSQL skipped")
		return
	}
	b.Run("postgres", func(b *testing.B) {
		f(b, openStore(b, freshSchema(b, pg)))
	})
}

// benchUser is a user's compile over days: cellsPerDay cells and one
// session piece a day.
func benchUser(id int64, day0 aggregation.Day, days, cellsPerDay int) aggregation.UserCompile {
	u := aggregation.UserCompile{UserID: id, FromDay: minDay, State: aggregation.UserState{CompiledTo: 1 << 62, LastTime: 1}}
	for d := range days {
		day := day0 + aggregation.Day(d)
		for n := range cellsPerDay {
			u.Cells = append(u.Cells, cell(id, day, int64(n)))
		}
		u.Pieces = append(u.Pieces, piece(id, day, int64(d)*1000))
	}
	return u
}

// Writing a fresh compile: 100 users × 100 days × 10 cells (and a session
// piece a day) per op, 10 users per WriteUsers.
func BenchmarkWriteUsers(b *testing.B) {
	const users, days, perDay, batch = 100, 100, 10, 10
	eachBenchDB(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		base := make([]aggregation.UserCompile, users)
		for i := range base {
			base[i] = benchUser(int64(i), 20000, days, perDay)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			for j := 0; j < users; j += batch {
				out := make([]aggregation.UserCompile, batch)
				for k := range out {
					u := base[j+k]
					id := int64(i*users + j + k)
					u.UserID = id
					u.Cells = append([]aggregation.RollupEntry(nil), u.Cells...)
					for c := range u.Cells {
						u.Cells[c].Key.UserID = id
					}
					u.Pieces = append([]aggregation.SessionPiece(nil), u.Pieces...)
					for p := range u.Pieces {
						u.Pieces[p].UserID = id
					}
					out[k] = u
				}
				if err := s.WriteUsers(ctx, keyA, out, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(users*days*perDay*b.N)/b.Elapsed().Seconds(), "cells/s")
	})
}

// Serving: one user's year of cells (10 a day) and pieces, among 50 users.
func BenchmarkRollupsOneUserYear(b *testing.B) {
	const users, days, perDay = 50, 365, 10
	eachBenchDB(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		for id := range int64(users) {
			if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{benchUser(id, 20000, days, perDay)}, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.WriteUsers(ctx, keyA, nil, complete(1<<62)); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			got, ok, err := s.Rollups(ctx, keyA, []int64{users / 2}, 20000, 20000+days-1)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			if u := got[users/2]; len(u.Cells) != days*perDay || len(u.Pieces) != days {
				b.Fatalf("%d cells, %d pieces", len(u.Cells), len(u.Pieces))
			}
		}
	})
}
