package aggregation

// Preset names.
const (
	PolicyUsestats           = "usestats"
	PolicyDedication         = "dedication"
	PolicyAttendanceRegister = "attendanceregister"
	PolicyCanvas             = "canvas"
	PolicyEdx5               = "edx5"
	PolicyEdx30              = "edx30"
)

// DefaultPolicy is the name of the policy used when a caller names none.
const DefaultPolicy = PolicyUsestats

// Defaults of the usestats policy: one table, used everywhere (fix B15).
const (
	DefaultThreshold = 60 * 60 // seconds
	DefaultCredit    = 15 * 60 // seconds
)

// presetNames lists the presets in the order they are documented.
var presetNames = [...]string{
	PolicyUsestats, PolicyDedication, PolicyAttendanceRegister,
	PolicyCanvas, PolicyEdx5, PolicyEdx30,
}

// PresetNames returns the names of every preset, default first.
func PresetNames() []string {
	return append([]string(nil), presetNames[:]...)
}

// Preset returns a fresh copy of the named preset, or an ENotFound error.
func Preset(name string) (Policy, error) {
	switch name {
	case PolicyUsestats:
		return usestatsPolicy(), nil
	case PolicyDedication:
		return dedicationPolicy(), nil
	case PolicyAttendanceRegister:
		return attendanceRegisterPolicy(), nil
	case PolicyCanvas:
		return canvasPolicy(), nil
	case PolicyEdx5:
		return edxPolicy(PolicyEdx5, 5*60), nil
	case PolicyEdx30:
		return edxPolicy(PolicyEdx30, 30*60), nil
	}
	return Policy{}, Errorf(ENotFound, "unknown policy %q (known: usestats, dedication, attendanceregister, canvas, edx5, edx30)", name)
}

// usestatsPolicy is the reference block_use_stats behaviour with every fix of
// docs/time-engine.md §7: a 60 min threshold, a 15 min credit for the event that ends a
// run, forward laps over one per-user timeline, sessions split on login and
// inactivity, captured time carried once, SCORM activities raised to the
// time their packages reported. Version 2 added the SCORM layer.
func usestatsPolicy() Policy {
	return Policy{
		Name: PolicyUsestats, Version: "2",
		Threshold: DefaultThreshold, Credit: DefaultCredit,
		Attribution: Forward, Timeline: PerUser,
		SplitOnLogin: true,
		Capture:      []string{"learningtimecheck"},
		DropOrigins:  []string{"cli", "restore"},
		Site:         SiteLoginLogout,
		SkipGraded:   true,
		Logout:       true,
		Scorm:        true,
	}
}

// dedicationPolicy is block_dedication 4.x (University of Canterbury main):
// per-course sessions split on gaps over 60 min, duration last − first click
// (the last click earns 0), sessions of 60 s or less dropped; only cli rows
// are filtered out.
func dedicationPolicy() Policy {
	return Policy{
		Name: PolicyDedication, Version: "1",
		Threshold: 60 * 60, Credit: 0,
		Attribution: Forward, Timeline: PerCourse,
		MinSession:  60,
		DropOrigins: []string{"cli"},
		KeepFailed:  true, KeepLoginAs: true, KeepAnonymous: true,
		Site: SiteNone,
	}
}

// attendanceRegisterPolicy is mod_attendanceregister: per-course sessions
// split on gaps over 30 min, each session ending 15 min (timeout/2) after its
// last event; no origin or login-as filtering.
func attendanceRegisterPolicy() Policy {
	return Policy{
		Name: PolicyAttendanceRegister, Version: "1",
		Threshold: 30 * 60, Credit: 15 * 60,
		Attribution: Forward, Timeline: PerCourse,
		KeepFailed: true, KeepLoginAs: true, KeepAnonymous: true,
		Site: SiteNone,
	}
}

// canvasPolicy is Canvas "total activity time": per enrolment (course), a
// request less than 2 min after the last recorded activity is ignored, an
// interval under 10 min is added, a longer one only moves the mark.
func canvasPolicy() Policy {
	return Policy{
		Name: PolicyCanvas, Version: "1",
		Threshold: 10 * 60, OverAtThreshold: true, Credit: 0,
		Attribution: Backward, Coalesce: 2 * 60, Timeline: PerCourse,
		DropOrigins: []string{"cli", "restore"},
		Site:        SiteNone,
	}
}

// edxPolicy is edx2bigquery time on task: per user, the time since the
// previous event counts when it is under the threshold (5 or 30 min).
func edxPolicy(name string, threshold int64) Policy {
	return Policy{
		Name: name, Version: "1",
		Threshold: threshold, OverAtThreshold: true, Credit: 0,
		Attribution: Backward, Timeline: PerUser,
		DropOrigins: []string{"cli", "restore"},
		Site:        SiteAll,
	}
}
