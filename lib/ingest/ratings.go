package ingest

import (
	"fmt"
	"io"
	"math"

	"github.com/crossrec/crossrec/lib/schema"
)

// ratingScale is the set of valid values of a ratings file.
type ratingScale struct {
	min, max float64
	perStep  float64 // 1/step, exact: values are min + k*step
	text     string  // for messages
}

var (
	// halfStars is MovieLens csv's scale: 0.5 to 5 in half stars.
	halfStars = ratingScale{min: 0.5, max: 5, perStep: 2, text: "0.5 to 5 in steps of 0.5"}
	// oneToFive is the integer scale of ml-1m, ml-100k, goodbooks and Douban.
	oneToFive = ratingScale{min: 1, max: 5, perStep: 1, text: "an integer 1 to 5"}
)

func (s ratingScale) valid(v float64) bool {
	if !(v >= s.min && v <= s.max) { // also refuses NaN
		return false
	}
	k := (v - s.min) * s.perStep
	return k == math.Trunc(k)
}

// ratingLayout says where the columns of a ratings file are.
type ratingLayout struct {
	user, item, rating, ts int       // field indexes; ts < 0 when there is none
	names                  [4]string // user, item, rating, timestamp column names
	scale                  ratingScale
	// knownNote, when set, is the note for a rating of an item missing from
	// the catalogue file read before (marked in d.items). Such ratings are kept: the
	// clean stage decides what to do with them.
	knownNote string
}

// readRatings is the hot loop shared by every explicit-ratings file:
// MovieLens ratings.csv, ratings.dat, u.data, goodbooks ratings.csv and Douban
// ratings.dat. Ids are interned and numbers parsed from bytes, so a row costs
// no allocation beyond a share of a timestamp block.
//
// When the columns are in the published order, each line first goes through
// scanRating, one pass that parses and checks the row without splitting it.
// Any line it does not accept (quotes, spaces, a bad value, another field
// count) is pushed back and read by the general path, which splits it with
// the file's own rules and says exactly what is wrong; so the fast path
// changes speed, never results.
func (d *domainCtx) readRatings(f *fileCtx, lay ratingLayout, sink Sink) error {
	fast := !d.noFast && f.mode.multi == nil && lay.user == 0 && lay.item == 1 && lay.rating == 2 &&
		((lay.ts == 3 && f.ncols == 4) || (lay.ts < 0 && f.ncols == 3))
	sep := f.mode.sep
	if f.mode.csv {
		sep = ','
	}
	b := &ratingBatch{}
	for {
		if fast {
			line, no, err := f.lr.nextRaw()
			if err == io.EOF {
				if err := d.flushRatings(f, lay, sink, b); err != nil {
					return err
				}
				if err := f.endCheck(); err != io.EOF {
					return err
				}
				return nil
			}
			if err != nil {
				return f.ioErr(no, err)
			}
			if len(line) == 0 {
				f.lr.blank++
				continue
			}
			if u, it, ui, ii, v, t, ok := scanRating(line, sep, lay.ts >= 0); ok && lay.scale.valid(v) {
				f.rep.Rows++
				if ui >= 0 && ii >= 0 {
					b.rows = append(b.rows, batchedRating{user: uint32(ui), item: uint32(ii), v: v, t: t, line: no})
					if len(b.rows) == batchSize {
						if err := d.flushRatings(f, lay, sink, b); err != nil {
							return err
						}
					}
					continue
				}
				if err := d.flushRatings(f, lay, sink, b); err != nil {
					return err
				}
				if err := d.emitRating(f, lay, sink, u, it, v, t, no); err != nil {
					return err
				}
				continue
			}
			if err := d.flushRatings(f, lay, sink, b); err != nil {
				return err
			}
			f.lr.unread([]pendingLine{{no: no, text: f.lr.decode(line)}})
		}
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := d.ratingFields(f, lay, sink, fields, no); err != nil {
			return err
		}
	}
}

// batchSize is how many fast-path rows are resolved together. Looking up
// the id strings of many rows in one loop lets the CPU overlap the cache
// misses of random item ids, which otherwise cost more than parsing a row.
const batchSize = 64

// batchedRating is a parsed fast-path row waiting for its id strings.
type batchedRating struct {
	user, item uint32
	v          float64
	t, line    int64
}

type ratingBatch struct {
	rows         []batchedRating
	users, items []string
}

// flushRatings resolves and emits the batched rows, in file order.
func (d *domainCtx) flushRatings(f *fileCtx, lay ratingLayout, sink Sink, b *ratingBatch) error {
	if len(b.rows) == 0 {
		return nil
	}
	b.users = d.users.resolve(b.users[:0], b.rows, func(r *batchedRating) uint32 { return r.user })
	b.items = d.items.resolve(b.items[:0], b.rows, func(r *batchedRating) uint32 { return r.item })
	rows := b.rows
	b.rows = b.rows[:0]
	for i := range rows {
		r := &rows[i]
		if lay.knownNote != "" && d.items.marking && !d.items.markedNum(r.item) {
			f.note(lay.knownNote)
		}
		var ts *int64
		if r.t >= 0 {
			ts = d.ts.ptr(r.t)
		}
		if err := f.interaction(sink, schema.Interaction{
			Domain:    d.in.Domain,
			User:      b.users[i],
			Item:      b.items[i],
			Value:     r.v,
			Kind:      schema.KindRating,
			Timestamp: ts,
			Source:    f.rel,
			Line:      r.line,
		}); err != nil {
			return err
		}
	}
	return nil
}

// ratingFields checks and emits one split ratings row: the general path.
func (d *domainCtx) ratingFields(f *fileCtx, lay ratingLayout, sink Sink, fields [][]byte, no int64) error {
	if len(fields) != f.ncols {
		return f.badCount(no, len(fields))
	}
	u, it, r := fields[lay.user], fields[lay.item], fields[lay.rating]
	if !isDigits(u) {
		return f.badID(no, lay.names[0], u)
	}
	if !isDigits(it) {
		return f.badID(no, lay.names[1], it)
	}
	v, ok := parseFloat(r)
	if !ok {
		return f.badNumber(no, lay.names[2], r)
	}
	if !lay.scale.valid(v) {
		return f.badRange(no, lay.names[2], r, lay.scale.text)
	}
	t := int64(-1)
	if lay.ts >= 0 {
		if t, ok = parseInt(fields[lay.ts]); !ok {
			return f.badNumber(no, lay.names[3], fields[lay.ts])
		}
		if t < 0 {
			return f.badRange(no, lay.names[3], fields[lay.ts], "unix seconds, not negative")
		}
	}
	return d.emitRating(f, lay, sink, u, it, v, t, no)
}

// emitRating emits a checked rating; t < 0 means no timestamp.
func (d *domainCtx) emitRating(f *fileCtx, lay ratingLayout, sink Sink, u, it []byte, v float64, t, no int64) error {
	var ts *int64
	if t >= 0 {
		ts = d.ts.ptr(t)
	}
	item, known := d.items.lookup(it)
	if !known && lay.knownNote != "" && d.items.marking {
		f.note(lay.knownNote)
	}
	return f.interaction(sink, schema.Interaction{
		Domain:    d.in.Domain,
		User:      d.users.get(u),
		Item:      item,
		Value:     v,
		Kind:      schema.KindRating,
		Timestamp: ts,
		Source:    f.rel,
		Line:      no,
	})
}

// scanRating parses "user<sep>item<sep>rating[<sep>timestamp]" in one pass:
// digits-only ids, a plain decimal rating of at most 15 digits (converted
// exactly as parseFloat does), a non-negative integer timestamp. ok is false
// for anything else, which the caller then reads the slow way. t is -1
// without a timestamp. un and in are the ids' values as smallID gives them,
// -1 when an id is not a small canonical number.
func scanRating(line []byte, sep byte, withTS bool) (u, it []byte, un, in int, v float64, t int64, ok bool) {
	n, i := len(line), 0
	u, un, i = scanID(line, 0)
	if u == nil || i == n || line[i] != sep {
		return
	}
	it, in, i = scanID(line, i+1)
	if it == nil || i == n || line[i] != sep {
		return
	}
	i++
	var mant uint64
	digits, frac := 0, 0
	for i < n && line[i]-'0' <= 9 {
		mant = mant*10 + uint64(line[i]-'0')
		digits++
		i++
	}
	if i < n && line[i] == '.' {
		for i++; i < n && line[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(line[i]-'0')
			digits++
			frac++
		}
	}
	if digits == 0 || digits > 15 {
		return
	}
	v = float64(mant) / pow10[frac]
	t = -1
	if withTS {
		if i == n || line[i] != sep {
			return
		}
		i++
		j := i
		var ut uint64
		for i < n && line[i]-'0' <= 9 {
			ut = ut*10 + uint64(line[i]-'0')
			i++
		}
		if i == j || i-j > 18 {
			return
		}
		t = int64(ut)
	}
	return u, it, un, in, v, t, i == n
}

// scanID reads the digits of line from i: the id (nil when there are none),
// its value (-1 unless smallID would accept it) and the index after it.
func scanID(line []byte, i int) ([]byte, int, int) {
	j, v := i, 0
	for i < len(line) && line[i]-'0' <= 9 {
		if v < maxDense {
			v = v*10 + int(line[i]-'0')
		}
		i++
	}
	switch {
	case i == j:
		return nil, -1, i
	case v >= maxDense || (line[j] == '0' && i-j > 1):
		return line[j:i], -1, i
	}
	return line[j:i], v, i
}

// badID counts a row whose id is empty or not the published numeric form.
func (f *fileCtx) badID(line int64, field string, v []byte) error {
	if len(v) == 0 {
		return f.bad(line, field, "empty", "empty id")
	}
	return f.bad(line, field, "not_an_id", fmt.Sprintf("%s is not a numeric id", describe(v)))
}

// badNumber counts a row whose number does not parse.
func (f *fileCtx) badNumber(line int64, field string, v []byte) error {
	if len(v) == 0 {
		return f.bad(line, field, "empty", "empty value")
	}
	return f.bad(line, field, "not_a_number", fmt.Sprintf("%s is not a number", describe(v)))
}

// badRange counts a row whose number is outside the layout's range.
func (f *fileCtx) badRange(line int64, field string, v []byte, want string) error {
	return f.bad(line, field, "out_of_range", fmt.Sprintf("%s is out of range (want %s)", describe(v), want))
}
