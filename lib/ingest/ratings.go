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
	step     float64 // values are min + k*step
	text     string  // for messages
}

var (
	// halfStars is MovieLens csv's scale: 0.5 to 5 in half stars.
	halfStars = ratingScale{min: 0.5, max: 5, step: 0.5, text: "0.5 to 5 in steps of 0.5"}
	// oneToFive is the integer scale of ml-1m, ml-100k, goodbooks and Douban.
	oneToFive = ratingScale{min: 1, max: 5, step: 1, text: "an integer 1 to 5"}
)

func (s ratingScale) valid(v float64) bool {
	if !(v >= s.min && v <= s.max) { // also refuses NaN
		return false
	}
	k := (v - s.min) / s.step
	return k == math.Trunc(k)
}

// ratingLayout says where the columns of a ratings file are.
type ratingLayout struct {
	user, item, rating, ts int       // field indexes; ts < 0 when there is none
	names                  [4]string // user, item, rating, timestamp column names
	scale                  ratingScale
	// knownNote, when set, is the note for a rating of an item missing from
	// the catalogue file read before (d.known). Such ratings are kept: the
	// clean stage decides what to do with them.
	knownNote string
}

// readRatings is the hot loop shared by every explicit-ratings file:
// MovieLens ratings.csv, ratings.dat, u.data, goodbooks ratings.csv and Douban
// ratings.dat. Rows are split without encoding/csv (the files are all
// numeric, so unquoted), ids are interned and numbers parsed from bytes, so a
// row costs no allocation beyond a share of a timestamp block.
func (d *domainCtx) readRatings(f *fileCtx, lay ratingLayout, sink Sink) error {
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(fields) != f.ncols {
			if err := f.badCount(no, len(fields)); err != nil {
				return err
			}
			continue
		}
		u, it, r := fields[lay.user], fields[lay.item], fields[lay.rating]
		if !isDigits(u) {
			if err := f.badID(no, lay.names[0], u); err != nil {
				return err
			}
			continue
		}
		if !isDigits(it) {
			if err := f.badID(no, lay.names[1], it); err != nil {
				return err
			}
			continue
		}
		v, ok := parseFloat(r)
		if !ok {
			if err := f.badNumber(no, lay.names[2], r); err != nil {
				return err
			}
			continue
		}
		if !lay.scale.valid(v) {
			if err := f.badRange(no, lay.names[2], r, lay.scale.text); err != nil {
				return err
			}
			continue
		}
		var ts *int64
		if lay.ts >= 0 {
			t, ok := parseInt(fields[lay.ts])
			if !ok {
				if err := f.badNumber(no, lay.names[3], fields[lay.ts]); err != nil {
					return err
				}
				continue
			}
			if t < 0 {
				if err := f.badRange(no, lay.names[3], fields[lay.ts], "unix seconds, not negative"); err != nil {
					return err
				}
				continue
			}
			ts = d.ts.ptr(t)
		}
		if lay.knownNote != "" && d.known != nil {
			if _, ok := d.known[string(it)]; !ok {
				f.note(lay.knownNote)
			}
		}
		if err := f.interaction(sink, schema.Interaction{
			Domain:    d.in.Domain,
			User:      d.users.get(u),
			Item:      d.items.get(it),
			Value:     v,
			Kind:      schema.KindRating,
			Timestamp: ts,
			Source:    f.rel,
			Line:      no,
		}); err != nil {
			return err
		}
	}
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
