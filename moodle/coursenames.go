package moodle

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Module descriptions are cached a course at a time. The modules one
// answer names are a few of its courses' modules, and the next answer
// names others of the same courses: reading by module id would miss the
// cache on nearly every request until every learner had been asked about
// once, each miss costing a query per module type on the Moodle
// database. Reading a course's modules whole fills the cache in as many
// reads as there are courses, and concurrent requests missing the same
// course wait for one read (singleflight) instead of each making its own.

// courseNames caches the modules of courses for NamesTTL.
type courseNames struct {
	mu sync.Mutex
	m  map[int64]courseNamesEntry
}

type courseNamesEntry struct {
	mods   map[int64]aggregation.ModuleInfo
	loaded time.Time
}

// maxCachedCourses bounds the course entries; past it the cache restarts.
const maxCachedCourses = 50_000

// newModuleGrace is how old a course's entry must be before a module of
// the course that it lacks (created since) makes it read again: a module
// deleted while its resolution stays cached cannot cause a read per
// request.
const newModuleGrace = 5 * time.Second

// lookup returns the course's cached modules if they are fresh and hold
// every id of need.
func (c *courseNames) lookup(course int64, need []int64, now time.Time) (map[int64]aggregation.ModuleInfo, bool) {
	c.mu.Lock()
	e, ok := c.m[course]
	c.mu.Unlock()
	if !ok || now.Sub(e.loaded) >= NamesTTL || now.Before(e.loaded) {
		return nil, false
	}
	if now.Sub(e.loaded) >= newModuleGrace {
		for _, id := range need {
			if _, ok := e.mods[id]; !ok {
				return nil, false
			}
		}
	}
	return e.mods, true
}

func (c *courseNames) store(course int64, mods map[int64]aggregation.ModuleInfo, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedCourses {
		c.m = map[int64]courseNamesEntry{}
	}
	c.m[course] = courseNamesEntry{mods: mods, loaded: now}
}

// cachedModules describes the live course modules among cmids (others are
// absent), from the courses' cached modules, reading the courses it lacks.
func (s *Source) cachedModules(ctx context.Context, cmids []int64) (map[int64]aggregation.ModuleInfo, error) {
	cms, err := s.cmInfos(ctx, cmids)
	if err != nil {
		return nil, err
	}
	need := map[int64][]int64{} // course → its ids asked for
	var courses []int64
	for _, id := range cmids {
		cm := cms[id]
		if !cm.known {
			continue
		}
		if _, ok := need[cm.course]; !ok {
			courses = append(courses, cm.course)
		}
		if !slices.Contains(need[cm.course], id) {
			need[cm.course] = append(need[cm.course], id)
		}
	}
	out := make(map[int64]aggregation.ModuleInfo, len(cmids))
	for _, course := range courses {
		mods, err := s.courseModules(ctx, course, need[course])
		if err != nil {
			return nil, err
		}
		for _, id := range need[course] {
			if m, ok := mods[id]; ok {
				out[id] = m
			}
		}
	}
	return out, nil
}

// courseModules returns every module of the course with its name, cached
// or read. Concurrent callers for one course share one read, which runs
// to its end (bounded by the statement timeout) even when the caller that
// started it gives up; a caller whose context ends stops waiting.
func (s *Source) courseModules(ctx context.Context, course int64, need []int64) (map[int64]aggregation.ModuleInfo, error) {
	if mods, ok := s.names.modules.lookup(course, need, time.Now()); ok {
		return mods, nil
	}
	ch := s.flight.DoChan("course-modules:"+strconv.FormatInt(course, 10), func() (any, error) {
		// A caller that missed the cache just before the previous read
		// stored its answer finds it here.
		if mods, ok := s.names.modules.lookup(course, need, time.Now()); ok {
			return mods, nil
		}
		return s.readCourseModules(context.WithoutCancel(ctx), course)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(map[int64]aggregation.ModuleInfo), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readCourseModules reads the course's live modules with their names and
// caches them.
func (s *Source) readCourseModules(ctx context.Context, course int64) (map[int64]aggregation.ModuleInfo, error) {
	now := time.Now()
	var ids []int64
	err := s.db.NewSelect().TableExpr(s.tableAs("course_modules", "cm")).Column("cm.id").
		Where("cm.course = ?", course).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("reading the modules of course %d: %w", course, err)
	}
	ms, err := s.Modules(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]aggregation.ModuleInfo, len(ms))
	for id, m := range ms {
		if m.CourseID == course {
			out[id] = aggregation.ModuleInfo{CMID: m.CMID, CourseID: m.CourseID, Type: m.Type, Name: m.Name, IDNumber: m.IDNumber, SectionID: m.SectionID}
		}
	}
	s.names.modules.store(course, out, now)
	return out, nil
}
