package moodle

import (
	"cmp"
	"slices"
)

// scanRec is one row of scanQuery as ScanUsers keeps it: integers only,
// its strings replaced by their indices in a scanStrings table. Having no
// pointers, a buffer of millions of them costs the garbage collector
// nothing to scan; 64 bytes, one cache line.
type scanRec struct {
	id, time, user, course, instance, realUser int64
	level                                      int32
	origin, ip                                 uint32 // 0: none (NULL or empty)
	kind                                       uint8  // a scanKind
}

// set makes rec the row r, its strings interned in t.
func (rec *scanRec) set(r *scanRow, t *scanStrings) {
	*rec = scanRec{id: r.id, time: r.time, user: r.user, course: r.course, instance: r.instance, realUser: r.realUser,
		level: int32(r.level), kind: uint8(r.kind),
		origin: t.get(r.origin, &t.lastOrigin), ip: t.get(r.ip, &t.lastIP[uint64(r.user)%uint64(len(t.lastIP))])}
}

// scanStrings numbers the distinct strings of scanned rows: origin and ip
// take a handful of values (origin) or repeat within a user's rows (ip).
// Index 0 is the empty string.
type scanStrings struct {
	strs []string
	ids  map[string]uint32
	// The previous indices, of any row (origin) and of a row of a user
	// hashed to the same slot (ip: rows of users arrive interleaved):
	// a string mostly repeats them, and a comparison is cheaper than a
	// map look-up.
	lastOrigin uint32
	lastIP     [1024]uint32
}

func newScanStrings() scanStrings {
	return scanStrings{strs: []string{""}, ids: make(map[string]uint32)}
}

// get returns the index of b (0 for an empty b), adding it if new; last
// is the column's previous index, updated.
func (t *scanStrings) get(b []byte, last *uint32) uint32 {
	if len(b) == 0 {
		return 0
	}
	if string(b) == t.strs[*last] {
		return *last
	}
	i, ok := t.ids[string(b)]
	if !ok {
		s := string(b)
		i = uint32(len(t.strs))
		t.strs = append(t.strs, s)
		t.ids[s] = i
	}
	*last = i
	return i
}

// reset empties the table; strings handed out stay valid.
func (t *scanStrings) reset() {
	clear(t.strs[1:]) // let the collector have them
	t.strs = t.strs[:1]
	clear(t.ids)
	t.lastOrigin = 0
	clear(t.lastIP[:])
}

// scanBuffer holds the rows the sorted scan reads, in the order they
// arrive, and sorts them by (userid, timecreated, id). It holds at most
// limit rows and limit distinct strings: past either it is full.
type scanBuffer struct {
	limit      int
	rows       []scanRec // capacity limit
	strs       scanStrings
	full       bool      // a row or a string did not fit: the read is incomplete
	umin, umax int64     // the range of the rows' user ids
	first      int       // the row with the smallest id
	keys       []scanKey // capacity limit; sorted, the rows' order
}

// scanKey is a row's place in the sorted order, with its time: sorting
// keys in one array rather than indices into the rows keeps the sort out
// of the cache misses of the rows' scattered lines, all but for ties,
// which read the rows' ids. 16 bytes.
type scanKey struct {
	time int64
	row  uint32 // index in rows
}

// newScanBuffer returns a buffer of limit rows and the function that
// frees its memory (see scanMemory).
func newScanBuffer(limit int) (*scanBuffer, func(), error) {
	rows, freeRows, err := scanMemory[scanRec](limit)
	if err != nil {
		return nil, nil, err
	}
	keys, freeKeys, err := scanMemory[scanKey](limit)
	if err != nil {
		freeRows()
		return nil, nil, err
	}
	b := &scanBuffer{limit: limit, rows: rows[:0], keys: keys[:0], strs: newScanStrings()}
	return b, func() { b.rows, b.keys = nil, nil; freeRows(); freeKeys() }, nil
}

// add appends r; it reports false, with full set, when r does not fit.
func (b *scanBuffer) add(r *scanRow) (bool, error) {
	n := len(b.rows)
	if n == b.limit || len(b.strs.strs) > b.limit {
		b.full = true
		return false, nil
	}
	b.rows = b.rows[:n+1]
	b.rows[n].set(r, &b.strs)
	if n == 0 || r.user < b.umin {
		b.umin = r.user
	}
	if n == 0 || r.user > b.umax {
		b.umax = r.user
	}
	if n == 0 || r.id < b.rows[b.first].id {
		b.first = n
	}
	return true, nil
}

// sort fills keys. Rows arrive in the table's physical order, which is
// about id order, so about time order within a user, but from where the
// sequential scan starts: PostgreSQL starts a scan of a large table where
// the previous one stopped (synchronize_seqscans), reading the end of the
// table before its start. So the rows are taken from the one with the
// smallest id, wrapping around, and counted into their users' places by a
// stable counting sort, which leaves each user's keys in about time order
// to be checked and, where rows were written out of order, sorted by
// (time, id). Users spread over a span much wider than the rows fall back
// to a comparison sort of the whole buffer.
func (b *scanBuffer) sort() {
	n := len(b.rows)
	b.keys = b.keys[:n]
	if n == 0 {
		return
	}
	span := uint64(b.umax - b.umin)
	if span >= uint64(max(n, 1<<16)) {
		for i := range b.rows {
			b.keys[i] = scanKey{time: b.rows[i].time, row: uint32(i)}
		}
		slices.SortFunc(b.keys, func(x, y scanKey) int {
			if c := cmp.Compare(b.rows[x.row].user, b.rows[y.row].user); c != 0 {
				return c
			}
			return b.keyOrder(x, y)
		})
		return
	}
	// counts[u+1] counts user umin+u; summed, counts[u] is where user
	// umin+u starts; after placing the keys it is where it ends.
	counts := make([]uint32, span+2)
	for i := range b.rows {
		counts[b.rows[i].user-b.umin+1]++
	}
	for u := 1; u < len(counts); u++ {
		counts[u] += counts[u-1]
	}
	place := func(rows []scanRec, offset int) {
		for i := range rows {
			r := &rows[i]
			u := r.user - b.umin
			b.keys[counts[u]] = scanKey{time: r.time, row: uint32(offset + i)}
			counts[u]++
		}
	}
	place(b.rows[b.first:], b.first)
	place(b.rows[:b.first], 0)
	order := b.keyOrder
	start := uint32(0)
	for _, end := range counts[:span+1] {
		if user := b.keys[start:end]; !slices.IsSortedFunc(user, order) {
			slices.SortFunc(user, order)
		}
		start = end
	}
}

// keyOrder orders the keys of a user's rows by (time, id).
func (b *scanBuffer) keyOrder(x, y scanKey) int {
	if c := cmp.Compare(x.time, y.time); c != 0 {
		return c
	}
	return cmp.Compare(b.rows[x.row].id, b.rows[y.row].id)
}

// emitBatch is how many rows emit copies out of the buffer at a time.
const emitBatch = 256

// emit hands the sorted rows to k until it wants no more. The rows are
// copied out of the buffer a batch at a time first: each is a cache miss,
// and a loop that only copies has many in flight at once.
func (b *scanBuffer) emit(k *scanSink) error {
	var batch [emitBatch]scanRec
	for start := 0; start < len(b.keys); start += emitBatch {
		keys := b.keys[start:min(start+emitBatch, len(b.keys))]
		for i, key := range keys {
			batch[i] = b.rows[key.row]
		}
		for i := range keys {
			more, err := k.addRec(&batch[i], b.strs.strs)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}
