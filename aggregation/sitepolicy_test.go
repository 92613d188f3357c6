package aggregation_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// A site's block_use_stats settings become the site policy: its threshold,
// credit, split, trimmed lists; missing or unusable values take the
// documented defaults, never 0; the version follows the rules.
func TestSitePolicy(t *testing.T) {
	base, _ := aggregation.Preset(aggregation.PolicyUsestats)
	for _, tc := range []struct {
		name      string
		settings  map[string]string
		threshold int64
		credit    int64
		split     bool
		filter    bool
		capture   []string
		ignore    []string
		note      string
	}{
		{"no keys: the block's defaults", map[string]string{}, 3600, 900, false, true, []string{"learningtimecheck"}, nil, ""},
		{"the issue's site", map[string]string{"threshold": "30", "lastpingcredit": "5", "ignoremodules": "forum", "enrolmentfilter": "0"},
			1800, 300, false, false, []string{"learningtimecheck"}, []string{"forum"}, ""},
		{"empty values", map[string]string{"threshold": "", "lastpingcredit": " ", "capturemodules": "", "enrolmentfilter": "0"},
			3600, 900, false, false, nil, nil, ""},
		{"zero credit is a choice, zero threshold is not", map[string]string{"threshold": "0", "lastpingcredit": "0", "enrolmentfilter": "0"},
			3600, 0, false, false, []string{"learningtimecheck"}, nil, "threshold"},
		{"garbage", map[string]string{"threshold": "soon", "lastpingcredit": "-3", "enrolmentfilter": "0"},
			3600, 900, false, false, []string{"learningtimecheck"}, nil, "lastpingcredit"},
		{"untrimmed lists, one session per course", map[string]string{"capturemodules": " page, quiz ,,page", "ignoremodules": "quiz , forum",
			"onesessionpercourse": "1", "enrolmentfilter": "1"}, 3600, 900, true, true, []string{"page"}, []string{"quiz", "forum"}, "both captured and ignored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, notes, err := aggregation.SitePolicy(tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			got := [6]any{p.Threshold, p.Credit, p.SplitOnCourse, p.EnrolmentFilter, p.Capture, p.Ignore}
			want := [6]any{tc.threshold, tc.credit, tc.split, tc.filter, tc.capture, tc.ignore}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("threshold, credit, split, filter, capture, ignore = %v, want %v", got, want)
			}
			if p.Name != aggregation.PolicySite || p.Version == "" || p.Version == base.Version {
				t.Errorf("identity %s@%s", p.Name, p.Version)
			}
			joined := strings.Join(notes, "; ")
			if (tc.note == "") != (joined == "") || !strings.Contains(joined, tc.note) {
				t.Errorf("notes %q, want one about %q", joined, tc.note)
			}
			// The rest is the usestats policy.
			p.Threshold, p.Credit, p.SplitOnCourse, p.Capture, p.Ignore = base.Threshold, base.Credit, base.SplitOnCourse, base.Capture, base.Ignore
			p.EnrolmentFilter = base.EnrolmentFilter
			p.Name, p.Version = base.Name, base.Version
			if !reflect.DeepEqual(p, base) {
				t.Errorf("other rules differ from usestats: %+v", p)
			}
		})
	}
	a, _, _ := aggregation.SitePolicy(map[string]string{"threshold": "30"})
	b, _, _ := aggregation.SitePolicy(map[string]string{"threshold": "30", "fromwhen": "90"})
	c, _, _ := aggregation.SitePolicy(map[string]string{"threshold": "31"})
	if a.Version != b.Version || a.Version == c.Version {
		t.Errorf("versions: same rules %s/%s, other rules %s", a.Version, b.Version, c.Version)
	}
}

// The registry: presets always, "site" when set, and then the default.
func TestPolicies(t *testing.T) {
	var r aggregation.Policies
	if r.DefaultName() != aggregation.PolicyUsestats || r.Default().Name != aggregation.PolicyUsestats {
		t.Fatalf("default without a site policy: %s", r.DefaultName())
	}
	if _, err := r.Lookup("site"); aggregation.ErrorCode(err) != aggregation.ENotFound {
		t.Errorf("site without settings: %v", err)
	}
	site, _, _ := aggregation.SitePolicy(map[string]string{"threshold": "30"})
	r.SetSite(&site)
	site.Ignore = append(site.Ignore, "changed after SetSite")
	got, err := r.Lookup("")
	if err != nil || got.Name != "site" || got.Threshold != 1800 || len(got.Ignore) != 0 {
		t.Errorf("default with a site policy: %+v, %v", got, err)
	}
	if names := r.Names(); names[0] != "site" || len(names) != len(aggregation.PresetNames())+1 {
		t.Errorf("names %v", names)
	}
	if p, err := r.Lookup("canvas"); err != nil || p.Name != "canvas" {
		t.Errorf("a preset: %v", err)
	}
	if _, err := r.Lookup("nope"); aggregation.ErrorCode(err) != aggregation.ENotFound || !strings.Contains(err.Error(), "site, usestats") {
		t.Errorf("unknown: %v", err)
	}
	r.SetSite(nil)
	if r.DefaultName() != aggregation.PolicyUsestats {
		t.Error("site policy not removed")
	}
}
