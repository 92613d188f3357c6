package aggregation_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York on machines without a zoneinfo database

	"github.com/usestats/usestats/aggregation"
)

func TestPolicyValidation(t *testing.T) {
	base := func() aggregation.Policy { return preset(t, "usestats") }
	cases := []struct {
		name   string
		change func(*aggregation.Policy)
		words  string // the error must name the field
	}{
		{"zero threshold", func(p *aggregation.Policy) { p.Threshold = 0 }, "threshold"},
		{"negative threshold", func(p *aggregation.Policy) { p.Threshold = -60 }, "threshold"},
		{"threshold in milliseconds", func(p *aggregation.Policy) { p.Threshold = 3_600_000 }, "threshold"},
		{"negative credit", func(p *aggregation.Policy) { p.Credit = -1 }, "credit"},
		{"credit of days", func(p *aggregation.Policy) { p.Credit = 3 * 86400 }, "credit"},
		{"negative min session", func(p *aggregation.Policy) { p.MinSession = -5 }, "minimum session"},
		{"coalesce on forward", func(p *aggregation.Policy) { p.Coalesce = 60 }, "coalesce"},
		{"coalesce ≥ threshold", func(p *aggregation.Policy) {
			p.Attribution, p.Capture, p.Coalesce = aggregation.Backward, nil, p.Threshold
		}, "coalesce"},
		{"capture with backward", func(p *aggregation.Policy) { p.Attribution = aggregation.Backward }, "capture"},
		{"captured and ignored", func(p *aggregation.Policy) { p.Ignore = []string{"learningtimecheck"} }, "both"},
		{"padded capture entry", func(p *aggregation.Policy) { p.Capture = []string{" quiz"} }, "capture"},
		{"empty ignore entry", func(p *aggregation.Policy) { p.Ignore = []string{""} }, "ignore"},
		{"unknown attribution", func(p *aggregation.Policy) { p.Attribution = 9 }, "attribution"},
		{"unknown timeline", func(p *aggregation.Policy) { p.Timeline = 9 }, "timeline"},
		{"unknown site rule", func(p *aggregation.Policy) { p.Site = 9 }, "site"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := base()
			c.change(&p)
			err := p.Validate()
			if aggregation.ErrorCode(err) != aggregation.EInvalid {
				t.Fatalf("err = %v, want an invalid-input error", err)
			}
			if !strings.Contains(aggregation.ErrorMessage(err), c.words) {
				t.Errorf("message %q does not mention %q", aggregation.ErrorMessage(err), c.words)
			}
		})
	}
	for _, name := range aggregation.PresetNames() {
		p := preset(t, name)
		if err := p.Validate(); err != nil {
			t.Errorf("preset %s invalid: %v", name, err)
		}
		want := "1"
		if name == aggregation.PolicyUsestats {
			want = "2" // version 2 added the SCORM layer
		}
		if n, _ := p.Normalize(); n.Name != name || n.Version != want {
			t.Errorf("preset %s normalizes to %s/%s", name, n.Name, n.Version)
		}
	}
}

// A custom policy's identity is a digest of its rules: equal rules, equal
// version; any change, another version.
func TestCustomPolicyIdentity(t *testing.T) {
	a := preset(t, "usestats")
	a.Name = ""
	b := a
	b.Capture = append([]string(nil), a.Capture...)
	na, _ := a.Normalize()
	nb, _ := b.Normalize()
	if na.Name != "custom" || na.Version != nb.Version {
		t.Fatalf("same rules, different identity: %s/%s vs %s/%s", na.Name, na.Version, nb.Name, nb.Version)
	}
	b.Threshold++
	nb, _ = b.Normalize()
	if na.Version == nb.Version {
		t.Fatalf("different thresholds share version %s", na.Version)
	}
}

// Days are calendar days in the site's time zone: a lap belongs to the day
// of its event.
func TestDaysInSiteTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 2023-11-15 04:30 UTC is 2023-11-14 23:30 in New York.
	t0 := time.Date(2023, 11, 15, 4, 30, 0, 0, time.UTC).Unix()
	evs := newStream(7).course(t0, 5).course(t0+3600, 5).events
	for _, c := range []struct {
		loc   *time.Location
		first string
		last  string
	}{
		{time.UTC, "2023-11-15", "2023-11-15"},
		{ny, "2023-11-14", "2023-11-15"},
		{time.FixedZone("UTC+14", 14*3600), "2023-11-15", "2023-11-15"},
	} {
		acc := aggregation.NewAccumulator(c.loc)
		p, err := aggregation.Run(preset(t, "usestats"), aggregation.AllTime, far, evs, acc)
		if err != nil {
			t.Fatal(err)
		}
		r := acc.Result(7, p, aggregation.AllTime)
		got := []string{r.Days[0].Day.String(), r.Days[len(r.Days)-1].Day.String()}
		if got[0] != c.first || got[1] != c.last {
			t.Errorf("%s: days %v, want %s … %s", c.loc, got, c.first, c.last)
		}
		var sum int64
		for _, d := range r.Days {
			sum += d.Elapsed
		}
		if sum != r.Total.Elapsed || sum != 3600+900 {
			t.Errorf("%s: Σ days %d, total %d, want 4500", c.loc, sum, r.Total.Elapsed)
		}
	}
	d, err := aggregation.ParseDay("2023-11-14")
	if err != nil || d.String() != "2023-11-14" {
		t.Errorf("ParseDay round trip: %v %v", d, err)
	}
	if _, err := aggregation.ParseDay("14/11/2023"); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("bad day: err = %v", err)
	}
}

// Rollups of several users merge into one; each user's result is unchanged.
func TestRollupMergeUsers(t *testing.T) {
	const T = 1703000000
	p := preset(t, "usestats")
	a7, a8 := aggregation.NewAccumulator(nil), aggregation.NewAccumulator(nil)
	if _, err := aggregation.Run(p, aggregation.AllTime, far, example1(T), a7); err != nil {
		t.Fatal(err)
	}
	if _, err := aggregation.Run(p, aggregation.AllTime, far, newStream(8).course(T, 5).view(T+60, 701).events, a8); err != nil {
		t.Fatal(err)
	}
	all := aggregation.NewRollup()
	all.Merge(a7.Rollup())
	all.Merge(a8.Rollup())
	if all.Len() != a7.Rollup().Len()+a8.Rollup().Len() {
		t.Fatalf("merged %d cells, want %d", all.Len(), a7.Rollup().Len()+a8.Rollup().Len())
	}
	wantStat(t, "user 7 from the merged rollup", all.UserResult(7).Total, 2110, 7)
	wantStat(t, "user 8 from the merged rollup", all.UserResult(8).Total, 60+900, 2)

	// Merging a rollup into itself doubles every cell.
	twice := aggregation.NewRollup()
	twice.Merge(a7.Rollup())
	twice.Merge(a7.Rollup())
	wantStat(t, "user 7 merged twice", twice.UserResult(7).Total, 4220, 14)

	// Reset empties an accumulator for the next user.
	a7.Reset()
	if a7.Rollup().Len() != 0 || len(a7.Sessions()) != 0 {
		t.Fatalf("reset accumulator still holds %d cells, %d sessions", a7.Rollup().Len(), len(a7.Sessions()))
	}
}

// A preset whose rules were changed no longer answers under the preset's
// name; an unchanged copy keeps it; a caller's own label is kept.
func TestModifiedPresetIsCustom(t *testing.T) {
	p := preset(t, "usestats")
	p.Threshold = 1800
	n, err := p.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "custom" || n.Version == "2" {
		t.Errorf("modified usestats answers as %s/%s", n.Name, n.Version)
	}
	noScorm := preset(t, "usestats")
	noScorm.Scorm = false
	if n, _ := noScorm.Normalize(); n.Name != "custom" || n.Version == "2" {
		t.Errorf("usestats without the SCORM layer answers as %s/%s", n.Name, n.Version)
	}
	same := preset(t, "edx30")
	same.Version = ""
	if n, _ := same.Normalize(); n.Name != "edx30" || n.Version != "1" {
		t.Errorf("unchanged edx30 answers as %s/%s", n.Name, n.Version)
	}
	label := preset(t, "usestats")
	label.Name, label.Credit = "local_timespent", 450
	if n, _ := label.Normalize(); n.Name != "local_timespent" || len(n.Version) != 16 {
		t.Errorf("labelled policy answers as %s/%s", n.Name, n.Version)
	}
}

// A module seen in two sections (moved, or its section deleted) reports the
// most recent placement whatever order the rollups are merged in.
func TestModulePlacementIndependentOfMergeOrder(t *testing.T) {
	const T = 1704000000
	p := preset(t, "usestats")
	early, late := aggregation.NewAccumulator(nil), aggregation.NewAccumulator(nil)
	s := newStream(7)
	s.view(T, 701)
	if _, err := aggregation.Run(p, aggregation.AllTime, far, s.events, early); err != nil {
		t.Fatal(err)
	}
	moved := newStream(7).withID(50).view(T+86400*3, 701).events
	moved[0].SectionID = 35
	if _, err := aggregation.Run(p, aggregation.AllTime, far, moved, late); err != nil {
		t.Fatal(err)
	}
	for _, order := range [][]*aggregation.Accumulator{{early, late}, {late, early}} {
		r := aggregation.NewRollup()
		for _, a := range order {
			r.Merge(a.Rollup())
		}
		m := mustModule(t, mustCourse(t, r.UserResult(7), 5), 101)
		if m.SectionID != 35 || m.Type != "page" || m.Events != 2 {
			t.Errorf("merged module = %+v, want section 35, type page, 2 events", m)
		}
	}
}

// A bounded Explainer keeps one page of laps and counts them all.
func TestExplainerPage(t *testing.T) {
	x := &aggregation.Explainer{Offset: 2, Limit: 3}
	if _, err := aggregation.Run(preset(t, "usestats"), aggregation.AllTime, far, example1(1700000000), x); err != nil {
		t.Fatal(err)
	}
	if x.Seen != 9 || len(x.Laps) != 3 || x.Laps[0].Event.ID != 3 || x.Laps[2].Event.ID != 6 {
		t.Fatalf("page = seen %d, %d laps starting at event %d", x.Seen, len(x.Laps), x.Laps[0].Event.ID)
	}
}
