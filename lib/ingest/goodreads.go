package ingest

import (
	"bytes"
	"fmt"
	"io"

	"github.com/crossrec/crossrec/lib/schema"
)

// goodreadsColumns is the Kaggle goodreads books.csv header, names trimmed
// (the published header has "  num_pages").
var goodreadsColumns = []string{"bookID", "title", "authors", "average_rating", "isbn", "isbn13",
	"language_code", "num_pages", "ratings_count", "text_reviews_count", "publication_date", "publisher"}

// Indexes into goodreadsColumns.
const (
	grBookID = iota
	grTitle
	grAuthors
	grAvg
	grISBN
	grISBN13
	grLang
	grPages
	grCount
	grReviews
	grDate
	grPublisher
)

// ReadGoodreads reads the Kaggle "goodreadsbooks" books.csv: book-level
// items with authors, average rating and ratings count; it has no per-user
// data.
//
// The file is not RFC 4180 CSV: its scraper replaced commas inside titles
// and publishers by two spaces and never quoted a field, so quotes are
// literal text (`"Dear Genius...": A Memoir`, `"Tarcher"`) and the rows are
// split on every comma. Four rows (bookIDs 12224, 16914, 22128, 34889) kept a
// comma inside authors and have 13 fields; such a row is recovered by joining
// the extra fields back into authors, but only when every typed column after
// it then parses, so a row shifted some other way is dropped and counted,
// never misread.
func ReadGoodreads(in Input, sink Sink, rep *Report) error {
	return run(in, FormatGoodreads, rep, func(d *domainCtx) error {
		return d.withFile("books", modeComma, func(f *fileCtx) error { return d.readGoodreadsBooks(f, sink) })
	})
}

func (d *domainCtx) readGoodreadsBooks(f *fileCtx, sink Sink) error {
	idx, err := f.header(goodreadsColumns...)
	if err != nil {
		return err
	}
	// The recovery re-joins fields between authors and the next column, so
	// it needs the published order; other orders are read without it.
	canRecover := true
	for i, j := range idx {
		canRecover = canRecover && i == j
	}
	canRecover = canRecover && f.ncols == len(goodreadsColumns)
	var row, ordered [][]byte
	var joined []byte
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		recovered := false
		if extra := len(fields) - f.ncols; extra > 0 && canRecover {
			joined = bytes.Join(fields[grAuthors:grAuthors+extra+1], []byte(","))
			row = append(append(append(row[:0], fields[:grAuthors]...), joined), fields[grAuthors+extra+1:]...)
			if ok, _, _ := goodreadsTyped(row); ok {
				fields, recovered = row, true
			}
		}
		if len(fields) != f.ncols {
			msg := fmt.Sprintf("expected %d fields, got %d", f.ncols, len(fields))
			if len(fields) > f.ncols && canRecover {
				msg += " (re-joining the extra fields into authors does not give valid numbers)"
			}
			if err := f.bad(no, "", "field_count", msg); err != nil {
				return err
			}
			continue
		}
		id := fields[idx[grBookID]]
		if !isDigits(id) {
			if err := f.badID(no, "bookID", id); err != nil {
				return err
			}
			continue
		}
		avg, cnt, ok, err := d.parseAggregates(f, no, fields[idx[grAvg]], "average_rating", fields[idx[grCount]], "ratings_count")
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		// Columns the pipeline does not use only earn a note when odd:
		// dropping a book for its page count would lose a good item.
		ordered = ordered[:0]
		for _, j := range idx {
			ordered = append(ordered, fields[j])
		}
		if _, field, msg := goodreadsTyped(ordered); msg != "" {
			f.note(field + ": " + msg)
		}
		if recovered {
			f.rep.Recovered++
		}
		if err := f.item(sink, schema.Item{
			Domain:       d.in.Domain,
			Item:         d.items.get(id),
			Title:        string(fields[idx[grTitle]]),
			Creators:     splitNames(fields[idx[grAuthors]], '/'),
			AvgRating:    avg,
			RatingsCount: cnt,
			Source:       f.rel,
		}, no); err != nil {
			return err
		}
	}
}

// goodreadsTyped checks the typed columns of a row in published order and
// returns the first problem ("" when all parse). Calendar validity of the
// date is checked too, and reported as "invalid date" (two published rows
// have 31 June / 31 November).
func goodreadsTyped(r [][]byte) (ok bool, field, msg string) {
	if !isDigits(r[grBookID]) {
		return false, "bookID", "not a numeric id"
	}
	if v, ok := parseFloat(r[grAvg]); !ok || v < 0 || v > 5 {
		return false, "average_rating", "not a rating 0-5"
	}
	if !isDigits(r[grISBN13]) {
		return false, "isbn13", "not digits"
	}
	if !isDigits(r[grPages]) {
		return false, "num_pages", "not a count"
	}
	if !isDigits(r[grCount]) {
		return false, "ratings_count", "not a count"
	}
	if !isDigits(r[grReviews]) {
		return false, "text_reviews_count", "not a count"
	}
	parts := bytes.Split(r[grDate], []byte("/"))
	if len(parts) != 3 || !isDigits(parts[0]) || !isDigits(parts[1]) || len(parts[2]) != 4 || !isDigits(parts[2]) {
		return false, "publication_date", "not M/D/YYYY"
	}
	m, _ := parseInt(parts[0])
	day, _ := parseInt(parts[1])
	y, _ := parseInt(parts[2])
	if _, ok := civilTime(int(y), int(m), int(day), 0, 0, 0); !ok {
		// A shape-valid but impossible date still proves the columns line
		// up, so it does not block a recovery; it is only noted.
		return true, "publication_date", "invalid date"
	}
	return true, "", ""
}
