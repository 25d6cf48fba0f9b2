package ingest

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/schema"
)

// ReadGoodbooks reads the goodbooks-10k layout: books.csv (23 columns; the
// items), ratings.csv or ratings_random.csv (user_id,book_id,rating; the
// interactions) and, when present, tags.csv (tag_id,tag_name),
// book_tags.csv (goodreads_book_id,tag_id,count; the books' genres) and
// to_read.csv (user_id,book_id; read only when sink.ToRead is set).
//
// Items are emitted after book_tags.csv is read, because a book's genres are
// its tag names ordered by count (descending, ties by name) and book_tags.csv
// names books by goodreads_book_id, which books.csv maps to book_id. The
// books are held in memory meanwhile: 10,000 items. Emission order: items,
// ratings, to-read pairs.
func ReadGoodbooks(in Input, sink Sink, rep *Report) error {
	return run(in, FormatGoodbooks, rep, func(d *domainCtx) error {
		var books gbBooks
		if err := d.withFile("books", modeCSV, func(f *fileCtx) error { return d.readGBBooks(f, &books) }); err != nil {
			return err
		}
		var tagNames map[string]string
		if err := d.withFile("tags", modeCSV, func(f *fileCtx) error {
			var err error
			tagNames, err = readGBTags(f)
			return err
		}); err != nil {
			return err
		}
		var tagged []tagCount
		if err := d.withFile("book_tags", modeCSV, func(f *fileCtx) error {
			if tagNames == nil {
				return fmt.Errorf("%s: needs the tags file to name its tag ids, and there is none", f.rel)
			}
			var err error
			tagged, err = readGBBookTags(f, &books, tagNames)
			return err
		}); err != nil {
			return err
		}
		if err := d.emitGBBooks(&books, tagged, sink); err != nil {
			return err
		}
		if err := d.withFile("ratings", modeCSV, func(f *fileCtx) error { return d.readGBRatings(f, sink) }); err != nil {
			return err
		}
		// A to_read file named in params must exist even when nobody reads it.
		if _, err := d.locate("to_read"); err != nil || sink.ToRead == nil {
			return err
		}
		return d.withFile("to_read", modeCSV, func(f *fileCtx) error { return d.readGBToRead(f, sink) })
	})
}

// gbBooks holds books.csv until the genres are known.
type gbBooks struct {
	items []schema.Item
	lines []int64
	byGR  map[string]int // goodreads_book_id -> index in items
	rep   *FileReport    // books file, counted when the items are emitted
}

func (d *domainCtx) readGBBooks(f *fileCtx, b *gbBooks) error {
	d.startKnown()
	idx, err := f.header("book_id", "goodreads_book_id", "authors", "title", "average_rating", "ratings_count")
	if err != nil {
		return err
	}
	b.byGR = map[string]int{}
	b.rep = f.rep
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
		id, gr := fields[idx[0]], fields[idx[1]]
		if !isDigits(id) {
			if err := f.badID(no, "book_id", id); err != nil {
				return err
			}
			continue
		}
		if !isDigits(gr) {
			if err := f.badID(no, "goodreads_book_id", gr); err != nil {
				return err
			}
			continue
		}
		avg, cnt, ok, err := d.parseAggregates(f, no, fields[idx[4]], "average_rating", fields[idx[5]], "ratings_count")
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if _, dup := b.byGR[string(gr)]; dup {
			f.note("duplicate goodreads_book_id (first kept for book_tags)")
		} else {
			b.byGR[string(gr)] = len(b.items)
		}
		d.addKnown(id)
		b.items = append(b.items, schema.Item{
			Domain:       d.in.Domain,
			Item:         d.items.get(id),
			Title:        string(fields[idx[3]]),
			Creators:     splitNames(fields[idx[2]], ','),
			AvgRating:    avg,
			RatingsCount: cnt,
			Source:       f.rel,
		})
		b.lines = append(b.lines, no)
	}
}

// parseAggregates parses a book's average rating (0-5) and ratings count
// (a non-negative integer); an empty field is nil. A bad value makes the row
// malformed: ok is false, and err is the structural error if there is one.
func (d *domainCtx) parseAggregates(f *fileCtx, no int64, avgB []byte, avgName string, cntB []byte, cntName string) (avg *float64, cnt *int64, ok bool, err error) {
	avgB, cntB = bytes.TrimSpace(avgB), bytes.TrimSpace(cntB)
	if len(avgB) > 0 {
		v, good := parseFloat(avgB)
		if !good {
			return nil, nil, false, f.badNumber(no, avgName, avgB)
		}
		if v < 0 || v > 5 {
			return nil, nil, false, f.badRange(no, avgName, avgB, "0 to 5")
		}
		avg = d.fl.ptr(v)
	}
	if len(cntB) > 0 {
		v, good := parseCount(cntB)
		if !good {
			return nil, nil, false, f.badNumber(no, cntName, cntB)
		}
		cnt = d.i64.ptr(v)
	}
	return avg, cnt, true, nil
}

// parseCount parses a non-negative integer count, accepting the "123.0" that
// pandas writes for an integer column that had missing values.
func parseCount(b []byte) (int64, bool) {
	if isDigits(b) {
		return parseInt(b)
	}
	v, ok := parseFloat(b)
	if !ok || v < 0 || v != float64(int64(v)) || v > 1<<53 {
		return 0, false
	}
	return int64(v), true
}

// splitNames splits a list of names on sep, trimming spaces and dropping
// empty names.
func splitNames(b []byte, sep byte) []string {
	var out []string
	for _, p := range bytes.Split(b, []byte{sep}) {
		if p = bytes.TrimSpace(p); len(p) > 0 {
			out = append(out, string(p))
		}
	}
	return out
}

func readGBTags(f *fileCtx) (map[string]string, error) {
	idx, err := f.header("tag_id", "tag_name")
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		var bad error
		switch id, name := fields[min(idx[0], len(fields)-1)], fields[min(idx[1], len(fields)-1)]; {
		case len(fields) != f.ncols:
			bad = f.badCount(no, len(fields))
		case !isDigits(id):
			bad = f.badID(no, "tag_id", id)
		case len(bytes.TrimSpace(name)) == 0:
			bad = f.bad(no, "tag_name", "empty", "empty tag name")
		default:
			if _, dup := names[string(id)]; dup {
				f.note("duplicate tag_id (first kept)")
			} else {
				names[string(id)] = string(bytes.TrimSpace(name))
			}
			f.count[kLookup]++
			continue
		}
		if bad != nil {
			return nil, bad
		}
	}
}

// tagCount is one tag count resolved to an item (index into the held
// items) and a tag name: a book_tags.csv row, or one Last.fm tag assignment.
type tagCount struct {
	book  int
	name  string
	count int64
}

func readGBBookTags(f *fileCtx, b *gbBooks, tagNames map[string]string) ([]tagCount, error) {
	idx, err := f.header("goodreads_book_id", "tag_id", "count")
	if err != nil {
		return nil, err
	}
	var out []tagCount
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(fields) != f.ncols {
			if err := f.badCount(no, len(fields)); err != nil {
				return nil, err
			}
			continue
		}
		gr, tid, cb := fields[idx[0]], fields[idx[1]], fields[idx[2]]
		var bad error
		var c int64
		var ok bool
		switch {
		case !isDigits(gr):
			bad = f.badID(no, "goodreads_book_id", gr)
		case !isDigits(tid):
			bad = f.badID(no, "tag_id", tid)
		default:
			c, ok = parseInt(cb)
			switch {
			case !ok:
				bad = f.badNumber(no, "count", cb)
			case c < 0:
				ok = false
				bad = f.badRange(no, "count", cb, "a count, not negative")
			}
		}
		if bad != nil {
			return nil, bad
		}
		if !ok {
			continue
		}
		bi, known := b.byGR[string(gr)]
		if !known {
			f.note("goodreads_book_id not in books file")
			continue
		}
		name, known := tagNames[string(tid)]
		if !known {
			f.note("tag_id not in tags file")
			continue
		}
		out = append(out, tagCount{book: bi, name: name, count: c})
		f.count[kLookup]++
	}
}

// emitGBBooks attaches genres and emits the books in file order.
func (d *domainCtx) emitGBBooks(b *gbBooks, tagged []tagCount, sink Sink) error {
	attachGenres(b.items, tagged)
	for i, it := range b.items {
		b.rep.Emitted[EmitItem]++
		if sink.Item != nil {
			if err := sink.Item(it); err != nil {
				return fmt.Errorf("%s:%d: %w", it.Source, b.lines[i], err)
			}
		}
	}
	return nil
}

// attachGenres sets each item's Genres to its tag names ordered by count
// (descending, ties by name). Repeated (item, name) pairs add their counts:
// two tag ids can share a name, and the full goodbooks book_tags.csv repeats
// some pairs.
func attachGenres(items []schema.Item, tagged []tagCount) {
	slices.SortFunc(tagged, func(x, y tagCount) int {
		return cmp.Or(cmp.Compare(x.book, y.book), strings.Compare(x.name, y.name))
	})
	merged := tagged[:0]
	for _, t := range tagged {
		if n := len(merged); n > 0 && merged[n-1].book == t.book && merged[n-1].name == t.name {
			merged[n-1].count += t.count
			continue
		}
		merged = append(merged, t)
	}
	for i := 0; i < len(merged); {
		j := i
		for j < len(merged) && merged[j].book == merged[i].book {
			j++
		}
		items[merged[i].book].Genres = rankedNames(merged[i:j])
		i = j
	}
}

// rankedNames orders one item's (name, count) pairs by count descending,
// ties by name, and returns the names.
func rankedNames(ts []tagCount) []string {
	slices.SortFunc(ts, func(x, y tagCount) int {
		return cmp.Or(cmp.Compare(y.count, x.count), strings.Compare(x.name, y.name))
	})
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.name
	}
	return out
}

func (d *domainCtx) readGBRatings(f *fileCtx, sink Sink) error {
	names := [4]string{"user_id", "book_id", "rating", ""}
	idx, err := f.header(names[:3]...)
	if err != nil {
		return err
	}
	return d.readRatings(f, ratingLayout{user: idx[0], item: idx[1], rating: idx[2], ts: -1, names: names,
		scale: oneToFive, knownNote: "book_id not in books file"}, sink)
}

func (d *domainCtx) readGBToRead(f *fileCtx, sink Sink) error {
	idx, err := f.header("user_id", "book_id")
	if err != nil {
		return err
	}
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var bad error
		switch {
		case len(fields) != f.ncols:
			bad = f.badCount(no, len(fields))
		case !isDigits(fields[idx[0]]):
			bad = f.badID(no, "user_id", fields[idx[0]])
		case !isDigits(fields[idx[1]]):
			bad = f.badID(no, "book_id", fields[idx[1]])
		default:
			if !d.isKnown(fields[idx[1]]) {
				f.note("book_id not in books file")
			}
			f.count[kToRead]++
			if err := sink.ToRead(ToRead{
				Domain: d.in.Domain,
				User:   d.users.get(fields[idx[0]]),
				Item:   d.items.get(fields[idx[1]]),
				Source: f.rel,
				Line:   no,
			}); err != nil {
				return f.wrap(no, err)
			}
			continue
		}
		if bad != nil {
			return bad
		}
	}
}
