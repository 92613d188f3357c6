package resolvers

import (
	"context"
	"math"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// explain keeps one page of laps, not the whole history: a long log costs
// memory for the page only, and each page is computed once per request.
func TestExplainKeepsOnePage(t *testing.T) {
	const n, T0 = 5000, 1_700_000_000
	var logs aggregation.SliceReader
	for i := range n {
		logs = append(logs, aggregation.Event{ID: int64(i + 1), Time: T0 + int64(i)*60, UserID: 7, CourseID: 5,
			ContextID: 30, ContextLevel: aggregation.ContextCourse, ContextInstanceID: 5,
			Action: "viewed", Target: "course", EventName: `\core\event\course_viewed`, CRUD: 'r', Origin: "web"})
	}
	p, err := aggregation.Preset("usestats")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: logs})
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{cfg: Config{Service: svc}}
	ctx := withRequest(context.Background(), &request{stats: map[statsKey]*statsEntry{}, explains: map[explainKey]*explainEntry{}})
	q := model.StatsQuery{Policy: p, Window: aggregation.Window{From: math.MinInt64, To: math.MaxInt64}, Now: T0 + n*60}

	x, err := r.explain(ctx, 7, q, 1200, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Laps) != 10 || x.Seen != n || cap(x.Laps) > 64 {
		t.Fatalf("kept %d laps (cap %d) of %d seen, want 10 of %d", len(x.Laps), cap(x.Laps), x.Seen, n)
	}
	if x.Laps[0].Event.ID != 1201 || x.Laps[9].Event.ID != 1210 {
		t.Errorf("page starts at event %d, ends at %d; want 1201..1210", x.Laps[0].Event.ID, x.Laps[9].Event.ID)
	}
	if again, _ := r.explain(ctx, 7, q, 1200, 10); again != x {
		t.Error("the same page was computed twice in one request")
	}
	if other, _ := r.explain(ctx, 7, q, 0, 3); len(other.Laps) != 3 || other.Laps[0].Event.ID != 1 {
		t.Errorf("another page: %d laps", len(other.Laps))
	}
	if empty, _ := r.explain(ctx, 7, q, 0, 0); len(empty.Laps) != 0 {
		t.Errorf("limit 0 kept %d laps", len(empty.Laps))
	}
}
