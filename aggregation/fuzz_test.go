package aggregation_test

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// FuzzEngine decodes arbitrary bytes into a policy (a preset, possibly
// altered, or a custom one, possibly invalid), a window, a now and an
// arbitrary event sequence (any times including the int64 extremes, equal
// or decreasing times and ids, any actions, targets, context levels,
// courses and origins, mixed users). The engine must never panic, must
// refuse only with EInvalid errors, and on every run it accepts the sums of
// checkResult and checkLaps (properties a–f) must hold, both for the raw
// sequence (the engine ignores out-of-order and other users' events) and
// for the sequence sorted and given to one user.
func FuzzEngine(f *testing.F) {
	// Seeds: the reference example, generated streams under several
	// policies, extreme windows, now and times, and invalid policies.
	f.Add(fuzzEncode(fuzzSpec{policy: 0, now: far}, example1(1700000000)))
	f.Add(fuzzEncode(fuzzSpec{policy: 1, now: far}, genEvents(1, 60)))
	f.Add(fuzzEncode(fuzzSpec{policy: 3, now: far, window: [2]int64{1700000000, 1700100000}}, genEvents(2, 80)))
	f.Add(fuzzEncode(fuzzSpec{policy: 5, now: math.MaxInt64, window: [2]int64{math.MinInt64, math.MaxInt64}}, genEvents(3, 40)))
	f.Add(fuzzEncode(fuzzSpec{policy: 2, now: math.MinInt64, window: [2]int64{math.MaxInt64 - 5, math.MaxInt64}}, genEvents(4, 30)))
	f.Add(fuzzEncode(fuzzSpec{policy: 6, custom: true, now: far}, genEvents(5, 50)))
	f.Add(fuzzEncode(fuzzSpec{policy: 7, custom: true, invalid: true, now: far}, genEvents(6, 10)))
	f.Add(fuzzEncode(fuzzSpec{policy: 0, now: far, window: [2]int64{10, 5}}, genEvents(7, 10)))
	extreme := genEvents(8, 6)
	extreme[5].Time = math.MaxInt64 - 1
	f.Add(fuzzEncode(fuzzSpec{policy: 4, now: math.MaxInt64}, extreme))
	f.Add([]byte{})
	f.Add([]byte("\x87\xff\xff\xff\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"))

	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzDecode(data)
		fuzzCheck(t, in.policy, in.window, in.now, in.events)
	})
}

// fuzzInput is one decoded fuzz case.
type fuzzInput struct {
	policy aggregation.Policy
	window aggregation.Window
	now    int64
	events []aggregation.Event
}

// fuzzCheck runs the engine on the raw sequence and on the sorted,
// single-user sequence and checks the invariants.
func fuzzCheck(t *testing.T, p aggregation.Policy, w aggregation.Window, now int64, evs []aggregation.Event) {
	t.Helper()
	wantInvalid := func(what string, err error) {
		t.Helper()
		var ae *aggregation.Error
		if !errors.As(err, &ae) || ae.Code != aggregation.EInvalid {
			t.Fatalf("%s: err = %#v, want an *aggregation.Error with code %q", what, err, aggregation.EInvalid)
		}
	}
	validErr := p.Validate()
	if validErr == nil {
		validErr = w.Validate()
	}
	x := &aggregation.Explainer{}
	acc := aggregation.NewAccumulator(nil)
	e, err := aggregation.NewEngine(p, w, aggregation.Tee{acc, x})
	if err != nil {
		wantInvalid("NewEngine", err)
		if validErr == nil {
			t.Fatalf("NewEngine refused a valid policy %+v and window %d…%d: %v", p, w.From, w.To, err)
		}
		if _, err := aggregation.Compute(p, w, now, evs); err == nil {
			t.Fatalf("Compute accepted what NewEngine refused: %v", validErr)
		}
		return
	}
	if validErr != nil {
		t.Fatalf("NewEngine accepted an invalid policy or window: %v", validErr)
	}
	np := e.Policy()
	if (p.Name == "" || p.Name == "custom") && (np.Name != "custom" || len(np.Version) != 16) {
		t.Fatalf("custom policy identity = %s/%s, want custom/<16-digit digest>", np.Name, np.Version)
	}

	// Raw sequence: rejected events are skipped.
	var user int64
	accepted := 0
	for i := range evs {
		if err := e.Push(&evs[i]); err != nil {
			wantInvalid("Push", err)
			continue
		}
		if accepted == 0 {
			user = evs[i].UserID
		}
		accepted++
		_ = e.Done()
	}
	e.Flush(now)
	e.Flush(now) // idempotent
	probe := aggregation.Event{UserID: user, Time: math.MaxInt64, ID: math.MaxInt64}
	if err := e.Push(&probe); err == nil {
		t.Fatal("Push after Flush accepted an event")
	} else {
		wantInvalid("Push after Flush", err)
	}
	res := acc.Result(user, np, w)
	if err := checkResult(res); err != nil {
		t.Fatalf("raw sequence (%d of %d events accepted): %v", accepted, len(evs), err)
	}
	if err := checkLaps(x, res, np, now); err != nil {
		t.Fatalf("raw sequence (%d of %d events accepted): %v", accepted, len(evs), err)
	}

	// Sorted sequence of one user: every event is accepted.
	sorted := slices.Clone(evs)
	for i := range sorted {
		sorted[i].UserID = genUser
	}
	aggregation.SortEvents(sorted)
	res, err = aggregation.Compute(p, w, now, sorted)
	if err != nil {
		t.Fatalf("Compute on a sorted one-user sequence: %v", err)
	}
	x, err = aggregation.Explain(p, w, now, sorted)
	if err != nil {
		t.Fatalf("Explain on a sorted one-user sequence: %v", err)
	}
	if err := checkResult(res); err != nil {
		t.Fatalf("sorted sequence (%d events): %v", len(sorted), err)
	}
	if err := checkLaps(x, res, np, now); err != nil {
		t.Fatalf("sorted sequence (%d events): %v", len(sorted), err)
	}
}

// fuzzReader hands out the fuzz bytes; past the end it returns zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) u8() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) u16() uint16 { return uint16(r.u8()) | uint16(r.u8())<<8 }

func (r *fuzzReader) i64() int64 {
	var buf [8]byte
	n := copy(buf[:], r.b)
	r.b = r.b[n:]
	return int64(binary.LittleEndian.Uint64(buf[:]))
}

// pick returns one of the values, chosen by the next byte.
func pick[T any](r *fuzzReader, vals ...T) T { return vals[int(r.u8())%len(vals)] }

// fuzzSpecials are the times and bounds most likely to break arithmetic.
var fuzzSpecials = []int64{0, 1, -1, genStart, far,
	math.MinInt64, math.MinInt64 + 1, math.MaxInt64, math.MaxInt64 - 1,
	math.MaxInt64 - 3600, math.MinInt64 + 3600, 1 << 62, -(1 << 62)}

// int64 decodes a value: a special, an offset from the generator's start,
// or eight raw bytes.
func (r *fuzzReader) int64() int64 {
	switch r.u8() % 4 {
	case 0:
		return pick(r, fuzzSpecials...)
	case 1:
		return genStart + int64(int16(r.u16()))*60
	case 2:
		return genStart + int64(r.u16())*int64(r.u8())
	}
	return r.i64()
}

var (
	fuzzModuleNames = []string{"learningtimecheck", "quiz", "page", "forum", "unknown", "course", "user", "system", "", " quiz"}
	fuzzOrigins     = []string{"web", "cli", "restore", "ws", ""}
	fuzzActions     = []string{"viewed", "loggedin", "loggedout", "login", "logout", "graded", "failed", "submitted", ""}
	fuzzTargets     = []string{"course", "user", "course_module", "dashboard", "user_login", ""}
	fuzzLevels      = []int32{aggregation.ContextSystem, aggregation.ContextUser, aggregation.ContextCourseCat,
		aggregation.ContextCourse, aggregation.ContextModule, aggregation.ContextBlock, 0, -1, 99}
	fuzzCourses  = []int64{0, 1, 2, 5, 8, -1, math.MaxInt64, math.MinInt64}
	fuzzCMs      = []int64{0, 101, 102, 103, 999, -5, math.MaxInt64}
	fuzzTypes    = []string{"", "page", "quiz", "learningtimecheck", "forum", "unknown", "course", "user"}
	fuzzSections = []int64{0, 31, 32, -1}
	fuzzGaps     = []int64{0, 1, 59, 119, 120, 121, 299, 300, 301, 599, 600, 601, 899, 900, 901,
		1799, 1800, 1801, 3599, 3600, 3601, 86400, 604800, 604801}
)

// names decodes a subset of fuzzModuleNames (two bytes, one bit each).
func (r *fuzzReader) names(all []string) []string {
	mask := r.u16()
	var out []string
	for i, n := range all {
		if mask&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// fuzzDecode turns bytes into a policy, a window, a now and events.
func fuzzDecode(data []byte) fuzzInput {
	r := &fuzzReader{b: data}
	var in fuzzInput
	names := aggregation.PresetNames()
	sel := r.u8()
	if i := int(sel & 0x7); i < len(names) {
		in.policy, _ = aggregation.Preset(names[i])
	}
	if sel&0x7 >= byte(len(names)) || sel&0x80 != 0 {
		// A custom policy, or a preset with fields changed.
		p := &in.policy
		p.Name, p.Version = pick(r, "", "custom", "", "usestats"), ""
		mask := r.u16()
		set := func(bit int) bool { return mask&(1<<bit) != 0 }
		if set(0) {
			p.Threshold = pick[int64](r, -1, 0, 1, 2, 60, 119, 120, 300, 600, 900, 1800, 3600, 7200, 604800, 604801, math.MaxInt64, math.MinInt64)
		}
		if set(1) {
			p.Credit = pick[int64](r, -1, 0, 1, 60, 450, 900, 1800, 3600, 86400, 86401, math.MaxInt64)
		}
		if set(2) {
			p.Attribution = aggregation.Attribution(r.u8() % 3)
		}
		if set(3) {
			p.Coalesce = pick[int64](r, -1, 0, 1, 30, 120, 599, 600, 3600)
		}
		if set(4) {
			p.MinSession = pick[int64](r, -1, 0, 1, 60, 120, 86400, 86401)
		}
		if set(5) {
			p.Timeline = aggregation.Timeline(r.u8() % 3)
		}
		if set(6) {
			p.Site = aggregation.SiteRows(r.u8() % 4)
		}
		if set(7) {
			p.Capture = r.names(fuzzModuleNames)
		}
		if set(8) {
			p.Ignore = r.names(fuzzModuleNames)
		}
		if set(9) {
			p.DropOrigins = r.names(fuzzOrigins)
		}
		if set(10) {
			b := r.u8()
			p.OverAtThreshold, p.SplitOnLogin, p.SplitOnCourse, p.KeepFailed = b&1 != 0, b&2 != 0, b&4 != 0, b&8 != 0
			p.KeepLoginAs, p.KeepAnonymous, p.SkipGraded, p.Logout = b&16 != 0, b&32 != 0, b&64 != 0, b&128 != 0
		}
	}
	in.window = aggregation.AllTime
	if b := r.u8(); b&1 != 0 {
		in.window.From = r.int64()
		if b&2 != 0 {
			in.window.To = r.int64()
		}
		if b&4 != 0 {
			in.window.CourseFrom = map[int64]int64{pick(r, fuzzCourses...): r.int64()}
		}
	}
	in.now = r.int64()

	t, id := int64(genStart), int64(1)
	for len(r.b) > 0 && len(in.events) < 300 {
		switch b := r.u8(); b % 8 {
		case 0: // same second
		case 1:
			t += int64(r.u8())
		case 2:
			t += int64(r.u16())
		case 3:
			t -= int64(r.u8()) // out of order
		case 4:
			t = pick(r, fuzzSpecials...)
		case 5:
			t += pick(r, fuzzGaps...)
		case 6:
			t = r.i64()
		case 7:
			t += int64(r.u8()) * 86400
		}
		switch b := r.u8(); b % 4 {
		case 0:
			id++
		case 1: // same id
		case 2:
			id -= int64(b >> 2)
		case 3:
			id = pick(r, fuzzSpecials...)
		}
		ev := aggregation.Event{ID: id, Time: t, UserID: genUser,
			Action: pick(r, fuzzActions...), Target: pick(r, fuzzTargets...),
			ContextLevel: pick(r, fuzzLevels...), CourseID: pick(r, fuzzCourses...),
			Origin: pick(r, fuzzOrigins...)}
		flags := r.u8()
		if ev.ContextLevel == aggregation.ContextModule || flags&1 != 0 {
			ev.ContextInstanceID = pick(r, fuzzCMs...)
			if flags&2 == 0 {
				ev.CMID = ev.ContextInstanceID
			}
			ev.ModuleType, ev.SectionID = pick(r, fuzzTypes...), pick(r, fuzzSections...)
		}
		if flags&4 != 0 {
			ev.RealUserID = 2
		}
		ev.Anonymous = flags&8 != 0
		if flags&0x30 == 0x30 {
			ev.UserID = int64(flags >> 6) // another user (0 … 3)
		}
		if flags&0x40 != 0 {
			ev.IP = "203.0.113.9"
		}
		in.events = append(in.events, ev)
	}
	return in
}

// fuzzSpec describes a seed input for fuzzEncode.
type fuzzSpec struct {
	policy  byte     // index into PresetNames; ≥ 6 is custom
	custom  bool     // alter the policy's fields
	invalid bool     // with custom: a negative credit
	window  [2]int64 // zero: all time
	now     int64
}

// fuzzEncode builds fuzz bytes that fuzzDecode turns back into (about) the
// given policy, window, now and events, for the seed corpus.
func fuzzEncode(s fuzzSpec, evs []aggregation.Event) []byte {
	var b []byte
	raw := func(v int64) { b = binary.LittleEndian.AppendUint64(append(b, 3), uint64(v)) }
	sel := s.policy
	if s.custom {
		sel |= 0x80
	}
	b = append(b, sel)
	if sel&0x7 >= 6 || sel&0x80 != 0 {
		b = append(b, 0)         // name ""
		b = append(b, 0x03, 0x4) // threshold, credit, split flags
		b = append(b, 7)         // threshold 300
		if s.invalid {
			b = append(b, 0) // credit -1
		} else {
			b = append(b, 5) // credit 900
		}
		b = append(b, 0x07) // OverAtThreshold, SplitOnLogin, SplitOnCourse (mask bit 10)
	}
	if s.window == [2]int64{} {
		b = append(b, 0)
	} else {
		b = append(b, 3)
		raw(s.window[0])
		raw(s.window[1])
	}
	raw(s.now)
	indexOf := func(vals []string, v string) byte {
		if i := slices.Index(vals, v); i >= 0 {
			return byte(i)
		}
		return byte(len(vals) - 1)
	}
	levelOf := func(v int32) byte {
		if i := slices.Index(fuzzLevels, v); i >= 0 {
			return byte(i)
		}
		return 0
	}
	courseOf := func(v int64) byte {
		if i := slices.Index(fuzzCourses, v); i >= 0 {
			return byte(i)
		}
		return 3
	}
	for _, ev := range evs {
		b = append(b, 6) // absolute time
		b = binary.LittleEndian.AppendUint64(b, uint64(ev.Time))
		b = append(b, 0) // next id
		b = append(b, indexOf(fuzzActions, ev.Action), indexOf(fuzzTargets, ev.Target),
			levelOf(ev.ContextLevel), courseOf(ev.CourseID), indexOf(fuzzOrigins, ev.Origin))
		var flags byte
		if ev.RealUserID != 0 {
			flags |= 4
		}
		if ev.Anonymous {
			flags |= 8
		}
		b = append(b, flags)
		if ev.ContextLevel == aggregation.ContextModule {
			b = append(b, byte(len(evs)%len(fuzzCMs)), indexOf(fuzzTypes, ev.ModuleType), 1)
		}
	}
	return b
}
