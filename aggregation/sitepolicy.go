package aggregation

import (
	"slices"
	"strconv"
	"strings"
)

// PolicySite is the name of the policy built from the Moodle site's own
// block_use_stats settings (see SitePolicy).
const PolicySite = "site"

// The block_use_stats settings SitePolicy reads (plugin block_use_stats in
// Moodle's config_plugins table).
const (
	SettingThreshold           = "threshold"           // minutes
	SettingLastPingCredit      = "lastpingcredit"      // minutes
	SettingOneSessionPerCourse = "onesessionpercourse" // 0/1
	SettingCaptureModules      = "capturemodules"      // comma list of module types
	SettingIgnoreModules       = "ignoremodules"       // comma list of module types
	SettingEnrolmentFilter     = "enrolmentfilter"     // 0/1
)

// SitePolicy builds the "site" policy from a site's block_use_stats
// settings: the usestats rules with the site's threshold, credit, session
// split, capture and ignore lists. Its Version is a digest of the rules,
// so answers name exactly what they used and a change of the settings is
// a new version.
//
// A missing or empty key takes the block's documented default (threshold
// 60 min, credit 15 min, capture "learningtimecheck"), never 0 (the
// reference's aggregator used 0 for an unset threshold or credit, B15). A
// value that is not a number, or out of range, also takes the default, and
// notes says so. Module lists are split on commas and trimmed (the
// reference matched " quiz" against "quiz" and missed it); a module both
// captured and ignored is ignored. The enrolment filter is on unless the
// setting is 0, as in the block, with the per-course meaning of
// Policy.EnrolmentFilter. The SCORM layer (Policy.Scorm) is on: the block
// always corrected SCORM time, and has no setting for it.
func SitePolicy(settings map[string]string) (p Policy, notes []string, err error) {
	p = usestatsPolicy()
	p.Name, p.Version = PolicySite, ""
	minutes := func(key string, def int64, limit int64) int64 {
		v, ok := settings[key]
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return def
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n*60 < 1 || n*60 > float64(limit) {
			notes = append(notes, key+" = "+strconv.Quote(v)+" is not a usable number of minutes; the default "+
				strconv.FormatInt(def/60, 10)+" min applies")
			return def
		}
		return int64(n * 60)
	}
	p.Threshold = minutes(SettingThreshold, DefaultThreshold, maxThreshold)
	p.Credit = DefaultCredit
	if v, ok := settings[SettingLastPingCredit]; ok && strings.TrimSpace(v) == "0" {
		p.Credit = 0 // no credit is a valid choice
	} else {
		p.Credit = minutes(SettingLastPingCredit, DefaultCredit, maxCredit)
	}
	p.SplitOnCourse = settingOn(settings[SettingOneSessionPerCourse])
	if v, ok := settings[SettingCaptureModules]; ok {
		p.Capture = moduleList(v)
	}
	p.Ignore = moduleList(settings[SettingIgnoreModules])
	p.Capture = slices.DeleteFunc(p.Capture, func(m string) bool {
		if slices.Contains(p.Ignore, m) {
			notes = append(notes, "module "+strconv.Quote(m)+" is both captured and ignored; it is ignored")
			return true
		}
		return false
	})
	if v, ok := settings[SettingEnrolmentFilter]; !ok || settingOn(v) { // on by default, as in the block
		p.EnrolmentFilter = true
	}
	p.Scorm = true
	p, err = p.Normalize()
	return p, notes, err
}

// settingOn reads a Moodle checkbox setting ("1" on; "", "0" off).
func settingOn(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && v != "0"
}

// moduleList splits a comma list of module types, trimmed, without empty
// or repeated entries.
func moduleList(v string) []string {
	var out []string
	for _, m := range strings.Split(v, ",") {
		if m = strings.TrimSpace(m); m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
