package ingest

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// Number parsers working on the bytes of a field, so the hot loops convert
// no strings and allocate nothing.

// parseUint parses a non-empty run of ASCII digits (no sign, no spaces).
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 { // 19 digits always fit in uint64
		return 0, false
	}
	var n uint64
	for _, c := range b {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + uint64(c)
	}
	return n, true
}

// parseInt parses an optionally '-'-signed integer that fits in int64.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := parseUint(b)
	if !ok || u > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// pow10 holds the powers of ten that are exact in float64.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseFloat parses a finite decimal number. "4.5" and "3" take a fast path:
// with at most 15 significant digits both the digits and the power of ten are
// exact in float64, so one correctly rounded division gives exactly what
// strconv.ParseFloat gives. Anything else (exponents, long mantissas) goes to
// strconv; NaN, Inf, hex floats and underscores are refused, since no
// published table means them.
func parseFloat(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	s := b
	neg := s[0] == '-'
	if neg || s[0] == '+' {
		s = s[1:]
	}
	var mant uint64
	digits, frac := 0, -1
	fast := len(s) > 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			fast = false
		}
		if !fast {
			break
		}
	}
	if fast && digits > 0 && digits <= 15 {
		if frac < 0 {
			frac = 0
		}
		f := float64(mant) / pow10[frac]
		if neg {
			f = -f
		}
		return f, true
	}
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// isDigits reports whether b is a non-empty run of ASCII digits: the shape
// of every numeric id in the published files.
func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseISOTime parses Last.fm 1K's "2009-05-04T23:08:57Z" without
// allocating, and falls back to RFC 3339 for other offsets or fractions.
func parseISOTime(b []byte) (int64, bool) {
	if len(b) == 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == 'Z' {
		y, ok1 := parseUint(b[0:4])
		mo, ok2 := parseUint(b[5:7])
		d, ok3 := parseUint(b[8:10])
		h, ok4 := parseUint(b[11:13])
		mi, ok5 := parseUint(b[14:16])
		s, ok6 := parseUint(b[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 {
			if ts, ok := civilTime(int(y), int(mo), int(d), int(h), int(mi), int(s)); ok {
				return ts, true
			}
		}
		return 0, false
	}
	t, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return 0, false
	}
	return t.Unix(), true
}

// civilTime returns the unix time of a UTC date and time, refusing dates
// that time.Date would silently normalise (31 June, 25:00).
func civilTime(y, mo, d, h, mi, s int) (int64, bool) {
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if t.Day() != d || t.Month() != time.Month(mo) {
		return 0, false
	}
	return t.Unix(), true
}

// interner maps raw id bytes to shared strings, so a ratings file with 25M
// rows and 200k distinct users allocates 200k user strings, not 25M. Small
// canonical numeric ids (every published numeric id) are looked up in a
// slice indexed by value, which costs a fraction of a map lookup; other ids
// go through a map. Both are bounded: past their limits the interner stops
// remembering and allocates per row, so an adversarial file cannot grow it
// without limit.
//
// Each entry also carries a mark: the item interner marks the ids of the
// catalogue file, so checking that a rated item is in the catalogue costs
// nothing extra per row.
type interner struct {
	prefix string
	m      map[string]internEntry
	max    int
	// dense[v] is 1 + the index in strs of numeric id v < maxDense, 0
	// when unseen, and bit v of marks its mark. Four pointer-free bytes per
	// possible id keep the table small (ml-latest-small's movie ids reach
	// 193,609 for 9,742 movies), cheap to allocate and outside the
	// garbage collector's scan.
	dense []uint32
	strs  []string
	marks []uint64
	last  internEntry // the previous result: ratings files come grouped by user
	slots []uint32    // resolve's scratch
	// lastKey is the raw id of last.
	lastKey []byte
	lastOK  bool
	// marking is set once a catalogue file starts: from then on, unmarked
	// ids are missing from it.
	marking bool
}

type internEntry struct {
	s      string
	marked bool
}

const (
	// maxInterned bounds the map of each interner (about 100 MB at worst).
	maxInterned = 1 << 20
	// maxDense bounds the numeric table (8 MB at worst); ids of the
	// published datasets stay under 300,000.
	maxDense = 1 << 21
)

func newInterner(prefix string) *interner {
	return &interner{prefix: prefix, m: map[string]internEntry{}, max: maxInterned}
}

// get returns prefix+b as a string.
func (in *interner) get(b []byte) string { return in.entry(b, false).s }

// lookup returns prefix+b and whether b was marked.
func (in *interner) lookup(b []byte) (string, bool) {
	e := in.entry(b, false)
	return e.s, e.marked
}

// mark records b as a catalogue id.
func (in *interner) mark(b []byte) string { return in.entry(b, true).s }

func (in *interner) entry(b []byte, mark bool) internEntry {
	if !mark && in.lastOK && string(in.lastKey) == string(b) {
		return in.last
	}
	// The key is kept as a copy: comparing with the previous string itself
	// would touch its bytes, a cache miss per row when ids are random.
	in.lastKey = append(in.lastKey[:0], b...)
	in.lastOK = true
	if v, ok := smallID(b); ok {
		in.growDense(v)
		e := internEntry{s: in.numString(v, in.dense[v])}
		w, bit := &in.marks[v/64], uint64(1)<<(v%64)
		if mark {
			*w |= bit
		}
		e.marked = *w&bit != 0
		in.last = e
		return e
	}
	e, ok := in.m[string(b)] // no allocation for the lookup
	if !ok {
		e.s = in.prefix + string(b)
	}
	if !ok || (mark && !e.marked) {
		e.marked = e.marked || mark
		if len(in.m) < in.max {
			in.m[e.s[len(in.prefix):]] = e
		}
	}
	in.last = e
	return e
}

// resolve appends the strings of the numeric ids id(&rows[i]), all below
// maxDense (smallID), to out. The table loads come first in a loop of their
// own, so their cache misses overlap.
func (in *interner) resolve(out []string, rows []batchedRating, id func(*batchedRating) uint32) []string {
	top := 0
	for i := range rows {
		top = max(top, int(id(&rows[i])))
	}
	in.growDense(top)
	for i := range rows {
		out = append(out, "")
		in.slots = append(in.slots[:i], in.dense[id(&rows[i])])
	}
	for i, k := range in.slots {
		if k != 0 {
			out[len(out)-len(rows)+i] = in.strs[k-1]
		}
	}
	for i, k := range in.slots {
		if k == 0 {
			v := int(id(&rows[i]))
			out[len(out)-len(rows)+i] = in.numString(v, in.dense[v])
		}
	}
	return out
}

// numString returns the string of numeric id v, whose dense slot is k,
// creating it on first sight.
func (in *interner) numString(v int, k uint32) string {
	if k == 0 {
		in.strs = append(in.strs, in.prefix+strconv.Itoa(v))
		k = uint32(len(in.strs))
		in.dense[v] = k
	}
	return in.strs[k-1]
}

// growDense makes room in the numeric table for id v.
func (in *interner) growDense(v int) {
	if v >= len(in.dense) {
		n := min(max(v+1, 2*len(in.dense), 1024), maxDense)
		in.dense = slices.Grow(in.dense, n-len(in.dense))[:n]
		in.marks = slices.Grow(in.marks, (n+63)/64-len(in.marks))[:(n+63)/64]
	}
}

// markedNum reports whether numeric id v was marked.
func (in *interner) markedNum(v uint32) bool {
	return int(v/64) < len(in.marks) && in.marks[v/64]&(1<<(v%64)) != 0
}

// smallID parses a canonical decimal id below maxDense: digits only, no
// leading zero (so "007" keeps its own text through the map path).
func smallID(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 7 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	v := 0
	for _, c := range b {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int(c)
	}
	return v, v < maxDense
}

// int64Slab hands out *int64 from shared blocks, so the optional Timestamp
// of each row costs a fraction of an allocation. Blocks are small, so a sink
// that keeps a few rows keeps little else alive.
type int64Slab struct{ buf []int64 }

const slabSize = 256

func (s *int64Slab) ptr(v int64) *int64 {
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]int64, 0, slabSize)
	}
	s.buf = append(s.buf, v)
	return &s.buf[len(s.buf)-1]
}

// float64Slab is int64Slab for the optional float columns.
type float64Slab struct{ buf []float64 }

func (s *float64Slab) ptr(v float64) *float64 {
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]float64, 0, slabSize)
	}
	s.buf = append(s.buf, v)
	return &s.buf[len(s.buf)-1]
}
