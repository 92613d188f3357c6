package aggregation

import (
	"cmp"
	"slices"
)

// RollupKey identifies one additive cell: a user's time on one day in one
// place. Bucket distinguishes course-level, activity, other and site time.
type RollupKey struct {
	UserID    int64
	Day       Day
	Bucket    Bucket
	CourseID  int64
	SectionID int64 // activities only; 0 = unknown section
	CMID      int64 // activities only
}

// RollupCell is the sum of the laps of one key.
type RollupCell struct {
	Elapsed    int64
	Events     int64
	First      int64  // time of the first counted event
	Last       int64  // time of the last counted event
	ModuleType string // activities only
}

func (c *RollupCell) merge(o *RollupCell) {
	if c.Events == 0 {
		c.First, c.Last = o.First, o.Last
	} else if o.Events > 0 {
		c.First, c.Last = min(c.First, o.First), max(c.Last, o.Last)
	}
	c.Elapsed += o.Elapsed
	c.Events += o.Events
	if c.ModuleType == "" {
		c.ModuleType = o.ModuleType
	}
}

// Rollup is a set of daily cells. Rollups of disjoint windows (or of
// different users) merge into the rollup of their union.
type Rollup struct {
	cells map[RollupKey]*RollupCell
}

// NewRollup returns an empty rollup.
func NewRollup() *Rollup {
	return &Rollup{cells: make(map[RollupKey]*RollupCell)}
}

// Len returns the number of cells.
func (r *Rollup) Len() int { return len(r.cells) }

// cell returns the cell of k, creating it.
func (r *Rollup) cell(k RollupKey) *RollupCell {
	c, ok := r.cells[k]
	if !ok {
		c = new(RollupCell)
		r.cells[k] = c
	}
	return c
}

// Add merges one cell into the rollup.
func (r *Rollup) Add(k RollupKey, c RollupCell) {
	r.cell(k).merge(&c)
}

// Merge adds every cell of o into r.
func (r *Rollup) Merge(o *Rollup) {
	for k, c := range o.cells {
		r.cell(k).merge(c)
	}
}

// RollupEntry is one cell with its key.
type RollupEntry struct {
	Key  RollupKey
	Cell RollupCell
}

// Entries returns every cell, ordered by user, day, course, bucket, section
// and cm, so two equal rollups give equal slices.
func (r *Rollup) Entries() []RollupEntry {
	out := make([]RollupEntry, 0, len(r.cells))
	for k, c := range r.cells {
		out = append(out, RollupEntry{Key: k, Cell: *c})
	}
	slices.SortFunc(out, func(a, b RollupEntry) int { return compareKeys(&a.Key, &b.Key) })
	return out
}

func compareKeys(a, b *RollupKey) int {
	return cmp.Or(
		cmp.Compare(a.UserID, b.UserID),
		cmp.Compare(a.Day, b.Day),
		cmp.Compare(a.CourseID, b.CourseID),
		cmp.Compare(a.Bucket, b.Bucket),
		cmp.Compare(a.SectionID, b.SectionID),
		cmp.Compare(a.CMID, b.CMID),
	)
}
