package moodle

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

// cmInfo is what a module-context log row needs from course_modules.
type cmInfo struct {
	known    bool // false: the course module no longer exists (or is being deleted)
	course   int64
	typ      string // modules.name
	instance int64
	section  int64 // course_sections.id
	idnumber string
}

// maxCachedCMs bounds the course-module cache; past it the cache restarts.
const maxCachedCMs = 500_000

// resolve fills CMID, ModuleType and SectionID of the module-context events
// in evs, querying only the course modules not cached yet, in one batch.
func (s *Source) resolve(ctx context.Context, evs []aggregation.Event) error {
	var ids []int64
	for i := range evs {
		if evs[i].ContextLevel == aggregation.ContextModule && !slices.Contains(ids, evs[i].ContextInstanceID) {
			ids = append(ids, evs[i].ContextInstanceID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	cms, err := s.cmInfos(ctx, ids)
	if err != nil {
		return err
	}
	for i := range evs {
		ev := &evs[i]
		if ev.ContextLevel != aggregation.ContextModule {
			continue
		}
		ev.CMID = ev.ContextInstanceID // the cmid, copied at event time: survives deletion
		if cm := cms[ev.CMID]; cm.known {
			ev.ModuleType, ev.SectionID = cm.typ, cm.section
		}
	}
	return nil
}

// cmInfos returns the resolution of every id (unknown for deleted course
// modules): cached ones from the cache, the others read in one batch and
// cached. The answer is built locally, so a cache restart in between (by
// this or another goroutine) never loses an entry.
func (s *Source) cmInfos(ctx context.Context, ids []int64) (map[int64]cmInfo, error) {
	out := make(map[int64]cmInfo, len(ids))
	var missing []int64
	s.mu.Lock()
	for _, id := range ids {
		if cm, ok := s.cms[id]; ok {
			out[id] = cm
		} else {
			missing = append(missing, id)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := s.loadCMs(ctx, missing)
	if err != nil {
		return nil, err
	}
	for _, id := range missing {
		out[id] = loaded[id]
	}
	return out, nil
}

// loadCMs reads course modules by id (in batches of 500), caches them (ids
// without a live row as unknown) and returns them.
func (s *Source) loadCMs(ctx context.Context, ids []int64) (map[int64]cmInfo, error) {
	mods, err := s.moduleNames(ctx)
	if err != nil {
		return nil, err
	}
	found := make(map[int64]cmInfo, len(ids))
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		var cms []CourseModule
		err := s.db.NewSelect().Model(&cms).ModelTableExpr(s.tableAs("course_modules", "cm")).
			Column("id", "course", "module", "instance", "section", "idnumber", "deletioninprogress").
			Where("id IN (?)", bun.List(batch)).Scan(ctx)
		if err != nil {
			return nil, fmt.Errorf("resolving course modules: %w", err)
		}
		for _, cm := range cms {
			found[cm.ID] = cmInfo{
				known:  cm.DeletionInProgress == 0 && mods[cm.Module] != "",
				course: cm.Course, typ: mods[cm.Module], instance: cm.Instance,
				section: cm.Section, idnumber: cm.IDNumber.String,
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cms)+len(ids) > maxCachedCMs {
		clear(s.cms) // restart the cache; callers hold their own answers
	}
	for _, id := range ids {
		s.cms[id] = found[id] // zero value (unknown) when missing
	}
	return found, nil
}

// moduleNames returns modules.id → name, read once.
func (s *Source) moduleNames(ctx context.Context) (map[int64]string, error) {
	s.mu.Lock()
	m := s.modules
	s.mu.Unlock()
	if m != nil {
		return m, nil
	}
	var mods []Module
	if err := s.db.NewSelect().Model(&mods).ModelTableExpr(s.tableAs("modules", "m")).Column("id", "name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("reading modules: %w", err)
	}
	m = make(map[int64]string, len(mods))
	for _, mod := range mods {
		m[mod.ID] = mod.Name
	}
	s.mu.Lock()
	s.modules = m
	s.mu.Unlock()
	return m, nil
}
