package resolvers

import (
	"strings"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// Arguments of the analytics fields.

// maxFilterItems bounds the roles and groups a participant filter lists.
const maxFilterItems = 100

// courseFilterOf reads a CourseFilter.
func courseFilterOf(f *model.CourseFilter) (aggregation.CourseFilter, error) {
	var out aggregation.CourseFilter
	if f == nil {
		return out, nil
	}
	if f.Search != nil {
		out.Search = strings.TrimSpace(*f.Search)
		if strings.ContainsRune(out.Search, 0) {
			return out, invalid("filter.search must not contain a NUL character")
		}
	}
	if f.Category != nil {
		if *f.Category <= 0 {
			return out, invalid("filter.category must be a positive category id")
		}
		out.Category = *f.Category
	}
	out.Visible = f.Visible
	return out, nil
}

// courseOrderOf reads a course order field.
func courseOrderOf(f model.CourseOrderField) (aggregation.CourseOrder, error) {
	switch f {
	case model.CourseOrderFieldID:
		return aggregation.CourseByID, nil
	case model.CourseOrderFieldFullname:
		return aggregation.CourseByFullName, nil
	case model.CourseOrderFieldShortname:
		return aggregation.CourseByShortName, nil
	case model.CourseOrderFieldStart:
		return aggregation.CourseByStart, nil
	}
	return 0, invalid("orderBy.field: unknown %.32q", f)
}

// participantOrderOf reads a participant order field.
func participantOrderOf(f model.ParticipantOrderField) (aggregation.ParticipantOrder, error) {
	switch f {
	case model.ParticipantOrderFieldID:
		return aggregation.ParticipantByID, nil
	case model.ParticipantOrderFieldTotal:
		return aggregation.ParticipantByTotal, nil
	case model.ParticipantOrderFieldLastAccess:
		return aggregation.ParticipantByLastAccess, nil
	case model.ParticipantOrderFieldName:
		return aggregation.ParticipantByName, nil
	case model.ParticipantOrderFieldGrade:
		return aggregation.ParticipantByGrade, nil
	}
	return 0, invalid("orderBy.field: unknown %.32q", f)
}

// participantFilterOf reads a ParticipantFilter; times are placed as a
// range's start (a date: its first second in the site's time zone).
func (r *Resolver) participantFilterOf(f *model.ParticipantFilter) (aggregation.ParticipantFilter, error) {
	var out aggregation.ParticipantFilter
	if f == nil {
		return out, nil
	}
	for name, d := range map[string]*int64{"minTotal": f.MinTotal, "maxTotal": f.MaxTotal} {
		if d != nil && *d < 0 {
			return out, invalid("filter.%s must not be negative", name)
		}
	}
	out.MinTotal, out.MaxTotal = f.MinTotal, f.MaxTotal
	if out.MinTotal != nil && out.MaxTotal != nil && *out.MaxTotal < *out.MinTotal {
		return out, invalid("filter.maxTotal (%d s) is below filter.minTotal (%d s)", *out.MaxTotal, *out.MinTotal)
	}
	if f.InactiveSince != nil {
		t := r.place(*f.InactiveSince, false)
		out.InactiveSince = &t
	}
	out.NeverActive = f.NeverActive != nil && *f.NeverActive
	out.ActiveEnrolmentOnly = f.ActiveEnrolmentOnly != nil && *f.ActiveEnrolmentOnly
	out.WithTimeOnly = f.WithTimeOnly != nil && *f.WithTimeOnly
	out.IncludeUnenrolled = f.IncludeUnenrolled != nil && *f.IncludeUnenrolled
	if len(f.Roles) > maxFilterItems || len(f.Groups) > maxFilterItems {
		return out, invalid("filter.roles and filter.groups list at most %d items each", maxFilterItems)
	}
	for _, role := range f.Roles {
		if err := lookupText("filter.roles", role); err != nil {
			return out, err
		}
	}
	out.Roles = f.Roles
	for _, g := range f.Groups {
		if g <= 0 {
			return out, invalid("filter.groups lists group ids, positive integers")
		}
	}
	out.Groups = f.Groups
	return out, nil
}

// decodeOffset reads the cursor of an offset-paged list: the position
// (1-based) of the row it names, after which the next page starts (0
// without a cursor).
func decodeOffset(after *string, list string, scope int64) (int, error) {
	pos, err := decodeCursor(after, list, scope)
	if err != nil {
		return 0, err
	}
	if pos > 1<<30 {
		return 0, invalid("after: not a cursor of this list")
	}
	return int(pos), nil
}
