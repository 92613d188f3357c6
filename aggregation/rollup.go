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
	ModuleType string // activities only: the module type at the first counted event
	FirstIP    IPMark // the earliest counted event that logged an IP (course cells only)
	LastIP     IPMark // the latest one
}

// IPMark is the IP address of one event and the event's place in the
// (time, id) order; the zero IPMark means no IP.
type IPMark struct {
	IP   string
	Time int64
	ID   int64
}

// before reports whether m comes before o in (time, id) order.
func (m *IPMark) before(o *IPMark) bool {
	return m.Time < o.Time || m.Time == o.Time && m.ID < o.ID
}

// earlier keeps the earlier of m and o (ignoring empty marks).
func (m *IPMark) earlier(o *IPMark) {
	if o.IP != "" && (m.IP == "" || o.before(m)) {
		*m = *o
	}
}

// later keeps the later of m and o (ignoring empty marks).
func (m *IPMark) later(o *IPMark) {
	if o.IP != "" && (m.IP == "" || m.before(o)) {
		*m = *o
	}
}

// merge adds o into c. The result does not depend on the order cells are
// merged in: the module type is the one of the earlier first event.
func (c *RollupCell) merge(o *RollupCell) {
	if o.Events > 0 && (c.Events == 0 || o.First < c.First) && o.ModuleType != "" {
		c.ModuleType = o.ModuleType
	} else if c.ModuleType == "" {
		c.ModuleType = o.ModuleType
	}
	if c.Events == 0 {
		c.First, c.Last = o.First, o.Last
	} else if o.Events > 0 {
		c.First, c.Last = min(c.First, o.First), max(c.Last, o.Last)
	}
	c.Elapsed += o.Elapsed
	c.Events += o.Events
	c.FirstIP.earlier(&o.FirstIP)
	c.LastIP.later(&o.LastIP)
}

// Rollup is a set of daily cells. Rollups of disjoint windows (or of
// different users) merge into the rollup of their union.
//
// Cells are stored by value in one slice and found through an
// open-addressing table of indexes (linear probing, a multiply-mix hash of
// the key): a lookup is a hash and usually one key comparison, and the whole
// rollup is three objects for the garbage collector whatever its size.
type Rollup struct {
	table []int32 // index+1 into cells; 0 = empty; len is a power of two
	shift uint    // 64 - log2(len(table))
	keys  []RollupKey
	cells []RollupCell
}

const minTableBits = 6

// NewRollup returns an empty rollup.
func NewRollup() *Rollup {
	r := &Rollup{}
	r.resize(minTableBits)
	return r
}

// newRollupFor returns an empty rollup with room for about n cells.
func newRollupFor(n int) *Rollup {
	bits := uint(minTableBits)
	for 3<<bits < 4*n && bits < 30 {
		bits++
	}
	r := &Rollup{keys: make([]RollupKey, 0, n), cells: make([]RollupCell, 0, n)}
	r.resize(bits)
	return r
}

// Len returns the number of cells.
func (r *Rollup) Len() int { return len(r.cells) }

// Reset empties the rollup, keeping its memory for reuse.
func (r *Rollup) Reset() {
	clear(r.table)
	clear(r.cells)
	r.keys, r.cells = r.keys[:0], r.cells[:0]
}

func hashKey(k *RollupKey) uint64 {
	// Day, bucket and course vary slowly and in small ranges: fold them into
	// one word, then two multiplications and a shift mix the rest.
	h := (uint64(k.Day)<<24 ^ uint64(k.Bucket)<<56 ^ uint64(k.CourseID)) * 0x9E3779B97F4A7C15
	h ^= (uint64(k.CMID) ^ uint64(k.SectionID)<<32 ^ uint64(k.UserID)<<16) * 0xC2B2AE3D27D4EB4F
	return h ^ h>>32
}

// resize rebuilds the index table with 2^bits slots.
func (r *Rollup) resize(bits uint) {
	r.table = make([]int32, 1<<bits)
	r.shift = 64 - bits
	mask := uint64(len(r.table) - 1)
	for i := range r.keys {
		j := hashKey(&r.keys[i]) >> r.shift
		for r.table[j] != 0 {
			j = (j + 1) & mask
		}
		r.table[j] = int32(i + 1)
	}
}

// slot returns the index of k's cell, creating it.
func (r *Rollup) slot(k *RollupKey) int32 { return r.slotHashed(k, hashKey(k)) }

// slotHashed is slot with the key's hash already computed.
func (r *Rollup) slotHashed(k *RollupKey, h uint64) int32 {
	mask := uint64(len(r.table) - 1)
	for j := h >> r.shift; ; j = (j + 1) & mask {
		s := r.table[j]
		if s == 0 {
			if 4*(len(r.cells)+1) > 3*len(r.table) { // keep the load under 3/4
				r.resize(64 - r.shift + 1)
				return r.slotHashed(k, h)
			}
			r.table[j] = int32(len(r.cells) + 1)
			r.keys = append(r.keys, *k)
			r.cells = append(r.cells, RollupCell{})
			return int32(len(r.cells) - 1)
		}
		if r.keys[s-1] == *k {
			return s - 1
		}
	}
}

// Add merges one cell into the rollup.
func (r *Rollup) Add(k RollupKey, c RollupCell) {
	r.cells[r.slot(&k)].merge(&c)
}

// Merge adds every cell of o into r.
func (r *Rollup) Merge(o *Rollup) {
	for i := range o.cells {
		r.cells[r.slot(&o.keys[i])].merge(&o.cells[i])
	}
}

// RollupEntry is one cell with its key.
type RollupEntry struct {
	Key  RollupKey
	Cell RollupCell
}

// AppendEntries appends every cell to dst, in no particular order.
func (r *Rollup) AppendEntries(dst []RollupEntry) []RollupEntry {
	for i := range r.cells {
		dst = append(dst, RollupEntry{Key: r.keys[i], Cell: r.cells[i]})
	}
	return dst
}

// Entries returns every cell, ordered by user, day, course, bucket, section
// and cm, so two equal rollups give equal slices.
func (r *Rollup) Entries() []RollupEntry {
	out := make([]RollupEntry, len(r.cells))
	for i := range r.cells {
		out[i] = RollupEntry{Key: r.keys[i], Cell: r.cells[i]}
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
