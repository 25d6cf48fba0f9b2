package align

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// Kinds are the domain kinds a mapping row can name, as params.yaml's
// data.domains.*.kind spells them.
var Kinds = []string{"books", "movies", "music"}

// Genre is one universal genre: a stable id (the name used in artifacts),
// a display name and a one-line description for reviewers.
type Genre struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Row is one row of a mapping table.
type Row struct {
	Kind      string // movies, books or music
	Source    string // source genre in normal form
	Universal string // universal genre id
}

var genreID = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ReadUniversal reads a universal genre list (id,name,description) in vector
// order. name labels errors ("universal_genres.csv:7: ...").
func ReadUniversal(r io.Reader, name string) ([]Genre, error) {
	cr := newCSV(r)
	if err := header(cr, name, "id", "name", "description"); err != nil {
		return nil, err
	}
	var out []Genre
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		g := Genre{ID: rec[0], Name: rec[1], Description: rec[2]}
		if !genreID.MatchString(g.ID) {
			return nil, fmt.Errorf("%s:%d: id %q: want lower-case letters, digits and '_', starting with a letter", name, line, g.ID)
		}
		if strings.TrimSpace(g.Name) == "" {
			return nil, fmt.Errorf("%s:%d: genre %s has no name", name, line, g.ID)
		}
		if prev, dup := seen[g.ID]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate genre %s (first on line %d)", name, line, g.ID, prev)
		}
		seen[g.ID] = line
		out = append(out, g)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no universal genres", name)
	}
	return out, nil
}

// ReadRows reads and validates a mapping table (kind,source_genre,
// universal_genre) against the universal genre ids. It rejects, naming the
// file and line: a wrong header, an unknown kind or universal genre, a
// source genre not in normal form, an unsorted row and a duplicate row.
func ReadRows(r io.Reader, name string, universal []Genre) ([]Row, error) {
	known := make(map[string]bool, len(universal))
	for _, g := range universal {
		known[g.ID] = true
	}
	cr := newCSV(r)
	if err := header(cr, name, "kind", "source_genre", "universal_genre"); err != nil {
		return nil, err
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		row := Row{Kind: rec[0], Source: rec[1], Universal: rec[2]}
		if !slices.Contains(Kinds, row.Kind) {
			return nil, fmt.Errorf("%s:%d: kind %q is not one of %s", name, line, row.Kind, strings.Join(Kinds, ", "))
		}
		if row.Source == "" {
			return nil, fmt.Errorf("%s:%d: empty source_genre", name, line)
		}
		if n := Normalize(row.Source); n != row.Source {
			return nil, fmt.Errorf("%s:%d: source_genre %q is not in normal form; write %q", name, line, row.Source, n)
		}
		if !known[row.Universal] {
			return nil, fmt.Errorf("%s:%d: unknown universal genre %q", name, line, row.Universal)
		}
		if n := len(rows); n > 0 {
			switch c := compareRows(rows[n-1], row); {
			case c == 0:
				return nil, fmt.Errorf("%s:%d: duplicate row %s,%s,%s", name, line, row.Kind, row.Source, row.Universal)
			case c > 0:
				return nil, fmt.Errorf("%s:%d: row %s,%s,%s is out of order: rows must be sorted by kind, source_genre, universal_genre",
					name, line, row.Kind, row.Source, row.Universal)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// compareRows orders rows by kind, then source genre, then universal genre,
// comparing bytes: the order `LC_ALL=C sort` gives the CSV lines.
func compareRows(a, b Row) int {
	if c := strings.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	return strings.Compare(a.Universal, b.Universal)
}

func newCSV(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	return cr
}

func header(cr *csv.Reader, name string, want ...string) error {
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: empty file, want header %s", name, strings.Join(want, ","))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !slices.Equal(rec, want) {
		return fmt.Errorf("%s:1: header %q, want %s", name, strings.Join(rec, ","), strings.Join(want, ","))
	}
	return nil
}
