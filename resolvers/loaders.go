package resolvers

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/usestats/usestats/aggregation"
)

// defaultLoaderWait is Config.LoaderWait's default.
const defaultLoaderWait = 250 * time.Microsecond

// gradeKey names a user's grades in a course.
type gradeKey struct{ course, user int64 }

// loaders batch every nested lookup of one request against the Directory:
// the keys asked for by concurrent resolvers within Config.LoaderWait become one
// call, and each key is fetched at most once per request.
type loaders struct {
	users   *dataloadgen.Loader[int64, aggregation.UserInfo]
	courses *dataloadgen.Loader[int64, aggregation.CourseInfo]
	modules *dataloadgen.Loader[int64, aggregation.ModuleInfo]
	grades  *dataloadgen.Loader[gradeKey, aggregation.CourseGrade]
	// groups: a course's groups (Service.CourseGroups), one read per
	// course and request.
	groups *dataloadgen.Loader[int64, []aggregation.GroupInfo]

	// The fetches of users, courses, modules and grades, for the lookups
	// outside any list, made at once (see loadNow).
	fetchUsers   func(context.Context, []int64) (map[int64]aggregation.UserInfo, error)
	fetchCourses func(context.Context, []int64) (map[int64]aggregation.CourseInfo, error)
	fetchModules func(context.Context, []int64) (map[int64]aggregation.ModuleInfo, error)
	fetchGrades  func(context.Context, []gradeKey) (map[gradeKey]aggregation.CourseGrade, error)
}

func newLoaders(dir aggregation.Directory, svc *aggregation.Service, loaderWait time.Duration) *loaders {
	if loaderWait <= 0 {
		loaderWait = defaultLoaderWait
	}
	wait := dataloadgen.WithWait(loaderWait)
	return &loaders{
		users:        dataloadgen.NewMappedLoader(dir.Users, wait),
		fetchUsers:   dir.Users,
		courses:      dataloadgen.NewMappedLoader(dir.Courses, wait),
		modules:      dataloadgen.NewMappedLoader(dir.Modules, wait),
		fetchCourses: dir.Courses,
		fetchModules: dir.Modules,
		grades: dataloadgen.NewMappedLoader(func(ctx context.Context, keys []gradeKey) (map[gradeKey]aggregation.CourseGrade, error) {
			return fetchGrades(ctx, dir, keys)
		}, wait),
		fetchGrades: func(ctx context.Context, keys []gradeKey) (map[gradeKey]aggregation.CourseGrade, error) {
			return fetchGrades(ctx, dir, keys)
		},
		groups: dataloadgen.NewMappedLoader(func(ctx context.Context, courses []int64) (map[int64][]aggregation.GroupInfo, error) {
			out := make(map[int64][]aggregation.GroupInfo, len(courses))
			for _, c := range courses {
				gs, err := svc.CourseGroups(ctx, c)
				if err != nil {
					return nil, err
				}
				out[c] = gs
			}
			return out, nil
		}, wait),
	}
}

// fetchGrades asks the Directory once per course for the grades of the
// users of the keys.
func fetchGrades(ctx context.Context, dir aggregation.Directory, keys []gradeKey) (map[gradeKey]aggregation.CourseGrade, error) {
	byCourse := map[int64][]int64{}
	var courses []int64
	for _, k := range keys {
		if _, ok := byCourse[k.course]; !ok {
			courses = append(courses, k.course)
		}
		byCourse[k.course] = append(byCourse[k.course], k.user)
	}
	slices.Sort(courses)
	out := make(map[gradeKey]aggregation.CourseGrade, len(keys))
	for _, c := range courses {
		users := byCourse[c]
		slices.Sort(users)
		grades, err := dir.Grades(ctx, c, users)
		if err != nil {
			return nil, err
		}
		for u, g := range grades {
			out[gradeKey{c, u}] = g
		}
	}
	return out, nil
}

// load returns the loaded value; ok is false when the key does not exist.
func load[K comparable, V any](ctx context.Context, l *dataloadgen.Loader[K, V], key K) (v V, ok bool, err error) {
	v, err = l.Load(ctx, key)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return v, false, nil
	}
	return v, err == nil, err
}
