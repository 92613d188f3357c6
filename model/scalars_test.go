package model_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

func TestTimeInput(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want model.Time
	}{
		{int64(1700000000), model.Time{Unix: 1700000000}},
		{json.Number("1700000000"), model.Time{Unix: 1700000000}},
		{"1700000000", model.Time{Unix: 1700000000}},
		{"2023-11-14T22:13:20Z", model.Time{Unix: 1700000000}},
		{"2023-11-14T23:13:20+01:00", model.Time{Unix: 1700000000}},
		{"2023-11-15", model.Time{Unix: 1700006400, Date: "2023-11-15"}},
		{float64(1700000000), model.Time{Unix: 1700000000}},
	} {
		var got model.Time
		if err := got.UnmarshalGQL(tc.in); err != nil || got != tc.want {
			t.Errorf("%v: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []any{"2023-02-30", "tomorrow", "", 1.5, json.Number("1e3"), true, nil, map[string]any{}} {
		var got model.Time
		if err := got.UnmarshalGQL(in); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("%v: error %v, want EInvalid", in, err)
		}
	}
	var b bytes.Buffer
	model.Time{Unix: 1700000000, Date: "2023-11-14"}.MarshalGQL(&b)
	if b.String() != "1700000000" {
		t.Errorf("output %q", b.String())
	}
}

func TestDurationInput(t *testing.T) {
	for in, want := range map[any]int64{int64(900): 900, "900": 900, "15m": 900, "1h30m": 5400, json.Number("60"): 60, "0s": 0} {
		if got, err := model.UnmarshalDuration(in); err != nil || got != want {
			t.Errorf("%v: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []any{"1.5s", "soon", 2.5, false, nil} {
		if _, err := model.UnmarshalDuration(in); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("%v: error %v, want EInvalid", in, err)
		}
	}
	var b bytes.Buffer
	model.MarshalDuration(5400).MarshalGQL(&b)
	if b.String() != "5400" {
		t.Errorf("output %q", b.String())
	}
}

func TestIDInput(t *testing.T) {
	for in, want := range map[any]int64{"7": 7, int64(7): 7, 7: 7, json.Number("7"): 7, "0": 0} {
		if got, err := model.UnmarshalID(in); err != nil || got != want {
			t.Errorf("%v: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []any{"-1", "seven", "7.0", 7.5, true, nil} {
		if _, err := model.UnmarshalID(in); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("%v: error %v, want EInvalid", in, err)
		}
	}
	var b bytes.Buffer
	model.MarshalID(42).MarshalGQL(&b)
	if b.String() != `"42"` {
		t.Errorf("output %q", b.String())
	}
}
