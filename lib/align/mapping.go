package align

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
)

// Embedded file names, as errors and dvc.yaml name them.
const (
	UniversalFile = "lib/align/universal_genres.csv"
	MapFile       = "lib/align/genre_map.csv"
)

var (
	//go:embed universal_genres.csv
	universalCSV []byte
	//go:embed genre_map.csv
	mapCSV []byte
)

// Mapping is a validated genre table: the universal genres in vector order
// and, per kind and normalised source genre, the universal genres it maps to.
// It is read-only after loading and safe for concurrent use.
type Mapping struct {
	genres []Genre
	rows   []Row
	index  map[key][]int // sorted universal indices
	digest string
}

type key struct{ kind, source string }

var (
	defaultOnce sync.Once
	defaultMap  *Mapping
	defaultErr  error
)

// Default returns the embedded, reviewed mapping. The tables are validated
// once; an invalid embedded table is an error (the tests keep it valid), as
// is a CR byte: the reviewed files are LF-only.
func Default() (*Mapping, error) {
	defaultOnce.Do(func() {
		for _, f := range []struct {
			name string
			b    []byte
		}{{UniversalFile, universalCSV}, {MapFile, mapCSV}} {
			if i := bytes.IndexByte(f.b, '\r'); i >= 0 {
				defaultErr = fmt.Errorf("%s:%d: CR byte; the table must use LF line endings", f.name, bytes.Count(f.b[:i], []byte{'\n'})+1)
				return
			}
		}
		defaultMap, defaultErr = build(bytes.NewReader(universalCSV), UniversalFile, bytes.NewReader(mapCSV), MapFile)
	})
	return defaultMap, defaultErr
}

// Load reads a user's own mapping table (kind,source_genre,universal_genre)
// over the embedded universal genres, so vectors keep the standard layout.
// name labels errors.
func Load(r io.Reader, name string) (*Mapping, error) {
	return build(bytes.NewReader(universalCSV), UniversalFile, r, name)
}

// LoadWith reads a mapping table over a user's own universal genre list.
func LoadWith(universal io.Reader, universalName string, table io.Reader, tableName string) (*Mapping, error) {
	return build(universal, universalName, table, tableName)
}

// LoadFiles reads a mapping from files. An empty universalPath means the
// embedded universal genres; an empty tablePath the embedded table.
func LoadFiles(universalPath, tablePath string) (*Mapping, error) {
	if universalPath == "" && tablePath == "" {
		return Default()
	}
	open := func(path string, embedded []byte, embeddedName string) (io.Reader, string, error) {
		if path == "" {
			return bytes.NewReader(embedded), embeddedName, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("align: %w", err)
		}
		return bytes.NewReader(b), path, nil
	}
	ur, un, err := open(universalPath, universalCSV, UniversalFile)
	if err != nil {
		return nil, err
	}
	tr, tn, err := open(tablePath, mapCSV, MapFile)
	if err != nil {
		return nil, err
	}
	return build(ur, un, tr, tn)
}

func build(universal io.Reader, universalName string, table io.Reader, tableName string) (*Mapping, error) {
	h := sha256.New()
	genres, err := ReadUniversal(io.TeeReader(universal, h), universalName)
	if err != nil {
		return nil, err
	}
	h.Write([]byte{0})
	rows, err := ReadRows(io.TeeReader(table, h), tableName, genres)
	if err != nil {
		return nil, err
	}
	pos := make(map[string]int, len(genres))
	for i, g := range genres {
		pos[g.ID] = i
	}
	m := &Mapping{genres: genres, rows: rows, index: make(map[key][]int, len(rows)), digest: hex.EncodeToString(h.Sum(nil))}
	for _, r := range rows {
		k := key{r.Kind, r.Source}
		m.index[k] = append(m.index[k], pos[r.Universal])
	}
	for k, v := range m.index {
		slices.Sort(v)
		m.index[k] = v
	}
	return m, nil
}

// Universal returns the universal genre ids in vector order.
func (m *Mapping) Universal() []string {
	ids := make([]string, len(m.genres))
	for i, g := range m.genres {
		ids[i] = g.ID
	}
	return ids
}

// Genres returns the universal genres with names and descriptions, in vector order.
func (m *Mapping) Genres() []Genre { return slices.Clone(m.genres) }

// Rows returns the table rows in file order (sorted).
func (m *Mapping) Rows() []Row { return slices.Clone(m.rows) }

// Digest is a hex sha256 over both tables' bytes as read: artifacts record it
// so a result can be traced to the exact table that produced it.
func (m *Mapping) Digest() string { return m.digest }

// Lookup returns the sorted universal indices one source genre of a kind
// maps to, and whether the table has a row for it.
func (m *Mapping) Lookup(kind, sourceGenre string) ([]int, bool) {
	v, ok := m.index[key{kind, Normalize(sourceGenre)}]
	return slices.Clone(v), ok
}

// Map returns the sorted, unique universal genre indices that an item's
// source genres map to. Unknown genres, and every genre of a kind the table
// does not have, map to nothing: coverage reports show what was missed.
func (m *Mapping) Map(kind string, sourceGenres []string) []int {
	var out []int
	for _, g := range sourceGenres {
		out = append(out, m.index[key{kind, Normalize(g)}]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// MapIDs is Map with universal genre ids instead of indices, in vector order.
func (m *Mapping) MapIDs(kind string, sourceGenres []string) []string {
	idx := m.Map(kind, sourceGenres)
	if len(idx) == 0 {
		return nil
	}
	ids := make([]string, len(idx))
	for i, j := range idx {
		ids[i] = m.genres[j].ID
	}
	return ids
}

// Vector returns the multi-hot universal genre vector of an item: 1 at each
// universal genre its source genres map to, 0 elsewhere; its length is
// len(Universal()).
func (m *Mapping) Vector(kind string, sourceGenres []string) []float32 {
	v := make([]float32, len(m.genres))
	for _, g := range sourceGenres {
		for _, i := range m.index[key{kind, Normalize(g)}] {
			v[i] = 1
		}
	}
	return v
}
