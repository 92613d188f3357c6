package resolvers

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// A loader waits Config.LoaderWait for other resolvers to join its batch. Inside
// a list (participants, users) many resolvers do, and the wait turns
// their lookups into one call. Outside any list nothing can join — the
// field is the only one of its kind — and the wait is pure latency, more
// than its nominal length: on the virtual machines we measured, a timer
// of 250 µs fires after about 1.1 ms, as long as the rest of a one-user
// answer from rollups. Such lookups are made at once and primed into the
// loader, so later fields of the request find them there.

// inList reports whether the field being resolved lies inside a list
// (an element of a list field, or below one).
func inList(ctx context.Context) bool {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if fc.Index != nil {
			return true
		}
	}
	return false
}

// loadNow is load, fetching at once with fetch when the field is outside
// any list.
func loadNow[K comparable, V any](ctx context.Context, l *dataloadgen.Loader[K, V], fetch func(context.Context, []K) (map[K]V, error), key K) (V, bool, error) {
	if inList(ctx) {
		return load(ctx, l, key)
	}
	got, err := fetch(ctx, []K{key})
	v, ok := got[key]
	if err != nil {
		return v, false, err
	}
	if ok {
		l.Prime(key, v)
	}
	return v, ok, nil
}

// loadAllNow returns the values of the keys that exist, through the
// loader inside a list and fetched at once (then primed) outside any.
func loadAllNow[K comparable, V any](ctx context.Context, l *dataloadgen.Loader[K, V], fetch func(context.Context, []K) (map[K]V, error), keys []K) (map[K]V, error) {
	if !inList(ctx) {
		got, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		for k, v := range got {
			l.Prime(k, v)
		}
		return got, nil
	}
	values, err := l.LoadAll(ctx, keys)
	if err := firstLoadError(err); err != nil {
		return nil, err
	}
	var missing dataloadgen.ErrorSlice // the keys not found, by position
	errors.As(err, &missing)
	out := make(map[K]V, len(keys))
	for i, k := range keys {
		if i >= len(missing) || missing[i] == nil {
			out[k] = values[i]
		}
	}
	return out, nil
}

// moduleInfos returns the live activities among cmids.
func moduleInfos(ctx context.Context, cmids []int64) (map[int64]aggregation.ModuleInfo, error) {
	ld := requestOf(ctx).loaders
	return loadAllNow(ctx, ld.modules, ld.fetchModules, cmids)
}

// primeCourseFields fetches at once, outside any list, the courses and
// grades the selection asks of the course statistics cs, and primes them
// into the loaders: each row's field then finds its value there instead
// of waiting for the others to join a batch. Inside a list the rows'
// fields batch through the loaders as usual.
func primeCourseFields(ctx context.Context, cs []model.CourseStat) error {
	if len(cs) == 0 || inList(ctx) {
		return nil
	}
	var wantCourse, wantGrade bool
	for _, f := range graphql.CollectAllFields(ctx) {
		wantCourse = wantCourse || f == "course"
		wantGrade = wantGrade || f == "grade"
	}
	rq := requestOf(ctx)
	ld := rq.loaders
	if wantCourse {
		ids := make([]int64, len(cs))
		for i := range cs {
			ids[i] = cs[i].CourseID
		}
		if _, err := loadAllNow(ctx, ld.courses, ld.fetchCourses, ids); err != nil {
			return err
		}
	}
	if wantGrade {
		keys := make([]gradeKey, len(cs))
		for i := range cs {
			keys[i] = gradeKey{cs[i].CourseID, cs[i].OfUser}
		}
		if _, err := loadAllNow(ctx, ld.grades, ld.fetchGrades, keys); err != nil {
			return err
		}
	}
	return nil
}
