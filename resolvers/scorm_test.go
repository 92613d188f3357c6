package resolvers_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/resolvers"
)

// scormReader is an in-memory aggregation.ScormReader.
type scormReader []aggregation.ScormValue

func (r scormReader) ScormTimes(_ context.Context, users, cmids []int64, from, to int64) ([]aggregation.ScormValue, error) {
	var out []aggregation.ScormValue
	for _, v := range r {
		if slices.Contains(users, v.UserID) && slices.Contains(cmids, v.CMID) && v.Time >= from && v.Time <= to {
			out = append(out, v)
		}
	}
	return out, nil
}

// Example 1 with its quiz 102 as a SCORM activity whose package reported
// 20 min: the 310 s of the log become 1200 s, explain shows the 890 s
// added as a row of its own, and policy {scorm: false} turns it off.
func TestScormLayerInGraphQL(t *testing.T) {
	e := newEnv(t)
	evs := example1(7)
	for i := range evs {
		if evs[i].CMID == 102 {
			evs[i].ModuleType = aggregation.ScormModuleType
		}
	}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(evs), Now: func() int64 { return far },
		Scorm: scormReader{{UserID: 7, CMID: 102, Attempt: 1, SCO: 1, Element: aggregation.ScormTotalTime2004, Value: "PT20M", Time: T0 + 900}}})
	if err != nil {
		t.Fatal(err)
	}
	e.h, err = resolvers.NewHandler(resolvers.Config{Service: svc, Directory: e.dir, Authenticate: authenticate,
		Now: func() int64 { return far }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		User struct {
			Stats struct {
				Policy struct {
					Name       string
					Version    string
					Parameters struct{ Scorm bool }
				}
				Total   int64
				Explain []struct {
					lap
					Detail *string `json:"detail"`
				}
			}
		}
	}
	q := `query($policy: PolicyInput) { user(by: {id: 7}) { stats(policy: $policy) { policy { name version parameters { scorm } } total
	  explain { eventId time course cmid bucket credit reason counted detail } } } }`
	e.ok("site-token", q, nil, &out)
	s := out.User.Stats
	wantEqual(t, "policy", [3]any{s.Policy.Name, s.Policy.Version, s.Policy.Parameters.Scorm}, [3]any{"usestats", "2", true})
	wantEqual(t, "total", s.Total, int64(2110+890))
	last := s.Explain[len(s.Explain)-1]
	detail := "SCORM: 1 attempt reported 1200 s, the log gives 310 s: 890 s added"
	wantEqual(t, "the SCORM row", [9]any{last.EventID, last.Time, last.Course, *last.Cmid, last.Bucket, last.Credit, last.Reason, last.Counted, *last.Detail},
		[9]any{"0", int64(T0 + 900), "5", "102", "ACTIVITY", int64(890), "scorm", true, detail})
	var sum int64
	for _, l := range s.Explain {
		if l.Counted {
			sum += l.Credit
		}
	}
	wantEqual(t, "Σ counted rows = total", sum, s.Total)

	e.ok("site-token", q, map[string]any{"policy": map[string]any{"scorm": false}}, &out)
	s = out.User.Stats
	wantEqual(t, "scorm off", [3]any{s.Policy.Name, s.Policy.Parameters.Scorm, s.Total}, [3]any{"custom", false, int64(2110)})
	if s.Explain[len(s.Explain)-1].Reason == "scorm" {
		t.Errorf("a SCORM row with the layer off")
	}
}
