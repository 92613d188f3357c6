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

// HourKey identifies one hourly cell: a user's time in one UTC hour in
// one course (0 = the site). Day is the site day (the rollup's time zone)
// of the cell's events: an hour that straddles two site days (a zone whose
// offset is not a whole number of hours) has a cell on each, so a day's
// hours are stored, replaced and dropped with the day.
type HourKey struct {
	UserID   int64
	Day      Day
	CourseID int64
	Hour     Hour
}

// HourCell is the sum of the laps of one hour key: their credit and how
// many they are.
type HourCell struct {
	Elapsed int64
	Events  int64
}

// HourEntry is one hourly cell with its key.
type HourEntry struct {
	Key  HourKey
	Cell HourCell
}

// Rollup is a set of daily cells and of hourly cells: every counted lap
// is in one of each. Rollups of disjoint windows (or of different users)
// merge into the rollup of their union.
//
// Daily cells are stored by value in one slice and found through an
// open-addressing table of indexes (linear probing, a multiply-mix hash of
// the key): a lookup is a hash and usually one key comparison, and the
// daily cells are three objects for the garbage collector whatever their
// number. Hourly cells are kept alike (hourTable).
type Rollup struct {
	index
	keys  []RollupKey
	cells []RollupCell
	hours hourTable
}

// index is an open-addressing table of the indexes of keys in a slice,
// each from the slot its hash's top bits give.
type index struct {
	table []int32 // index+1 into the keys; 0 = empty; len is a power of two
	shift uint    // 64 - log2(len(table))
}

// hourTable holds hourly cells as Rollup holds daily ones, and can also
// take a cell the caller knows is new without looking it up (add): the
// index gets its key at the next lookup. Laps come mostly in time order,
// so most of an Accumulator's hourly cells are made that way.
type hourTable struct {
	index
	keys    []HourKey
	cells   []HourCell
	indexed int // keys[:indexed] are in the index
}

const minTableBits = 6

// NewRollup returns an empty rollup.
func NewRollup() *Rollup { return newRollupFor(0, 0) }

// newRollupFor returns an empty rollup with room for about n daily cells
// and hours hourly cells.
func newRollupFor(n, hours int) *Rollup {
	r := &Rollup{keys: make([]RollupKey, 0, n), cells: make([]RollupCell, 0, n),
		hours: hourTable{keys: make([]HourKey, 0, hours), cells: make([]HourCell, 0, hours)}}
	r.resize(tableBits(n))
	r.hours.resize(tableBits(hours))
	return r
}

// tableBits returns the table size (log2) for about n cells.
func tableBits(n int) uint {
	bits := uint(minTableBits)
	for 3<<bits < 4*n && bits < 30 {
		bits++
	}
	return bits
}

// Len returns the number of daily cells.
func (r *Rollup) Len() int { return len(r.cells) }

// HourLen returns the number of hourly cells.
func (r *Rollup) HourLen() int { return len(r.hours.cells) }

// Reset empties the rollup, keeping its memory for reuse.
func (r *Rollup) Reset() {
	clear(r.table)
	clear(r.cells)
	r.keys, r.cells = r.keys[:0], r.cells[:0]
	clear(r.hours.table)
	r.hours.keys, r.hours.cells, r.hours.indexed = r.hours.keys[:0], r.hours.cells[:0], 0
}

func hashKey(k *RollupKey) uint64 {
	// Day, bucket and course vary slowly and in small ranges: fold them into
	// one word, then two multiplications and a shift mix the rest.
	h := (uint64(k.Day)<<24 ^ uint64(k.Bucket)<<56 ^ uint64(k.CourseID)) * 0x9E3779B97F4A7C15
	h ^= (uint64(k.CMID) ^ uint64(k.SectionID)<<32 ^ uint64(k.UserID)<<16) * 0xC2B2AE3D27D4EB4F
	return h ^ h>>32
}

func hashHour(k *HourKey) uint64 {
	h := (uint64(k.Hour)<<20 ^ uint64(k.CourseID)) * 0x9E3779B97F4A7C15
	h ^= (uint64(k.Day) ^ uint64(k.UserID)<<16) * 0xC2B2AE3D27D4EB4F
	return h ^ h>>32
}

// empty makes the index an empty table of 2^bits slots.
func (x *index) empty(bits uint) {
	x.table = make([]int32, 1<<bits)
	x.shift = 64 - bits
}

// place puts i, the index of a key of hash h, in the first empty slot
// from the key's own.
func (x *index) place(h uint64, i int) {
	mask := uint64(len(x.table) - 1)
	j := h >> x.shift
	for x.table[j] != 0 {
		j = (j + 1) & mask
	}
	x.table[j] = int32(i + 1)
}

// resize rebuilds the index table with 2^bits slots.
func (r *Rollup) resize(bits uint) {
	r.empty(bits)
	for i := range r.keys {
		r.place(hashKey(&r.keys[i]), i)
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

// resize rebuilds the index table with 2^bits slots, every key in it.
func (t *hourTable) resize(bits uint) {
	t.empty(bits)
	t.indexed = 0
	t.catchUp()
}

// catchUp puts the keys of the cells added since the last lookup in the
// index table.
func (t *hourTable) catchUp() {
	if 4*len(t.keys) > 3*len(t.table) { // keep the load under 3/4
		t.resize(max(tableBits(len(t.keys)), 64-t.shift+1))
		return
	}
	for i := t.indexed; i < len(t.keys); i++ {
		t.place(hashHour(&t.keys[i]), i)
	}
	t.indexed = len(t.keys)
}

// slot returns the index of k's hourly cell, creating it.
func (t *hourTable) slot(k *HourKey) int32 {
	t.catchUp()
	if 4*(len(t.keys)+1) > 3*len(t.table) {
		t.resize(64 - t.shift + 1)
	}
	h := hashHour(k)
	mask := uint64(len(t.table) - 1)
	for j := h >> t.shift; ; j = (j + 1) & mask {
		s := t.table[j]
		if s == 0 {
			t.table[j] = int32(len(t.keys) + 1)
			t.indexed++
			return t.add(k)
		}
		if t.keys[s-1] == *k {
			return s - 1
		}
	}
}

// add makes k's hourly cell, which the caller knows the table does not
// hold, without looking k up, and returns its index.
func (t *hourTable) add(k *HourKey) int32 {
	t.keys = append(t.keys, *k)
	t.cells = append(t.cells, HourCell{})
	return int32(len(t.cells) - 1)
}

// hourSlot returns the index of k's hourly cell, creating it.
func (r *Rollup) hourSlot(k *HourKey) int32 { return r.hours.slot(k) }

// Add merges one cell into the rollup.
func (r *Rollup) Add(k RollupKey, c RollupCell) {
	r.cells[r.slot(&k)].merge(&c)
}

// AddHour adds one hourly cell into the rollup.
func (r *Rollup) AddHour(k HourKey, c HourCell) {
	h := &r.hours.cells[r.hourSlot(&k)]
	h.Elapsed += c.Elapsed
	h.Events += c.Events
}

// Merge adds every cell of o, daily and hourly, into r.
func (r *Rollup) Merge(o *Rollup) {
	for i := range o.cells {
		r.cells[r.slot(&o.keys[i])].merge(&o.cells[i])
	}
	for i := range o.hours.cells {
		r.AddHour(o.hours.keys[i], o.hours.cells[i])
	}
}

// RollupEntry is one cell with its key.
type RollupEntry struct {
	Key  RollupKey
	Cell RollupCell
}

// AppendEntries appends every cell to dst, in no particular order.
func (r *Rollup) AppendEntries(dst []RollupEntry) []RollupEntry {
	dst = slices.Grow(dst, len(r.cells)) // one allocation, not a copy per doubling
	for i := range r.cells {
		dst = append(dst, RollupEntry{Key: r.keys[i], Cell: r.cells[i]})
	}
	return dst
}

// AppendHours appends every hourly cell to dst, in no particular order.
func (r *Rollup) AppendHours(dst []HourEntry) []HourEntry {
	dst = slices.Grow(dst, len(r.hours.cells))
	for i := range r.hours.cells {
		dst = append(dst, HourEntry{Key: r.hours.keys[i], Cell: r.hours.cells[i]})
	}
	return dst
}

// HourEntries returns every hourly cell, ordered by user, day, course and
// hour, so two equal rollups give equal slices.
func (r *Rollup) HourEntries() []HourEntry {
	out := r.AppendHours(make([]HourEntry, 0, len(r.hours.cells)))
	slices.SortFunc(out, func(a, b HourEntry) int { return CompareHourKeys(&a.Key, &b.Key) })
	return out
}

// CompareHourKeys orders hour keys by user, day, course and hour.
func CompareHourKeys(a, b *HourKey) int {
	return cmp.Or(
		cmp.Compare(a.UserID, b.UserID),
		cmp.Compare(a.Day, b.Day),
		cmp.Compare(a.CourseID, b.CourseID),
		cmp.Compare(a.Hour, b.Hour),
	)
}

// Entries returns every daily cell, ordered by user, day, course, bucket, section
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
