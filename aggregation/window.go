package aggregation

import "math"

// Window is the period whose time is counted, both ends inclusive (Unix
// seconds). Events outside it may still be pushed: events before From are
// context (they settle session boundaries and backward anchors), events
// after To are look-ahead (they give the window's last event its real next
// event, fix B3). Neither is ever counted.
type Window struct {
	From int64
	To   int64
	// CourseFrom optionally moves the start of the window per course (the
	// enrolment filter, fix B5): an event of course c before CourseFrom[c]
	// is not counted, but it stays in the timeline, so other courses' gaps
	// are unaffected.
	CourseFrom map[int64]int64
}

// AllTime is the window that counts every event.
var AllTime = Window{From: math.MinInt64, To: math.MaxInt64}

// Validate returns an EInvalid error when the window is empty.
func (w Window) Validate() error {
	if w.To < w.From {
		return Errorf(EInvalid, "window: to (%d) is before from (%d)", w.To, w.From)
	}
	return nil
}

// counts reports whether an event at t in course c is counted.
func (w *Window) counts(t, course int64) bool {
	if t < w.From || t > w.To {
		return false
	}
	if w.CourseFrom != nil {
		if start, ok := w.CourseFrom[course]; ok && t < start {
			return false
		}
	}
	return true
}
