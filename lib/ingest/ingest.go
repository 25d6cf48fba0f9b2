// Package ingest reads every published dataset layout the pipeline knows
// (MovieLens csv/1m/100k, goodbooks-10k, Kaggle goodreads, Last.fm HetRec
// and 1K, Douban) and emits the unified rows of package schema through
// callbacks.
//
// The files are read exactly as published: no one converts line endings or
// encodings first, so the parsers accept LF and CRLF, a BOM, a missing final
// newline, latin-1 lines and each layout's own quirks. Rows stream: memory
// grows with the number of distinct users, items and tags, never with the
// number of ratings, so a 20M-row MovieLens ratings file streams through in about 30 MB of
// resident memory.
//
// Bad input is sorted into two kinds. A structural problem (missing file,
// header not matching the layout, most rows unreadable) returns an error
// naming file, line and field. A few malformed rows are dropped and counted
// in the Report by file and reason; the caller compares the share to
// params.Ingest.MaxMalformedFraction with Report.CheckMalformed.
package ingest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
)

// Format names, the values of params.Source.Format.
const (
	FormatMovieLensCSV  = "movielens-csv"
	FormatMovieLens1M   = "movielens-1m"
	FormatMovieLens100K = "movielens-100k"
	FormatGoodbooks     = "goodbooks"
	FormatGoodreads     = "goodreads-kaggle"
	FormatLastfmHetrec  = "lastfm-hetrec"
	FormatLastfm1K      = "lastfm-1k"
	FormatDouban        = "douban"
)

// Sink receives the rows. A nil callback drops that kind of row after it is
// parsed, validated and counted, except ToRead: goodbooks' to_read.csv is an
// optional extra and is read only when ToRead is set. A callback's error
// stops the read and is returned wrapped with the file and line.
//
// Rows are passed by value and own their strings and pointers: a sink may
// keep them.
type Sink struct {
	Interaction func(schema.Interaction) error
	Item        func(schema.Item) error
	Tag         func(schema.Tag) error
	ToRead      func(ToRead) error
}

// ToRead is one goodbooks to_read.csv pair: the user shelved the book as
// "to read". It is no rating, so it has its own callback and the stage
// decides whether it becomes an implicit interaction.
type ToRead struct {
	Domain string
	User   string // namespaced like Interaction.User
	Item   string
	Source string
	Line   int64
}

// Input is a domain's data resolved for reading: what ReadDomain builds from
// params.Source, and what the per-format readers take, so notebooks and tests
// can point them at any folder.
type Input struct {
	// Root is the data root. Source columns are paths relative to it, so
	// artifacts do not depend on where the data lives.
	Root string
	// Domain is the domain name written to every row.
	Domain string
	// Namespace prefixes user ids: "<Namespace>:<source id>".
	Namespace string
	// Dir is the folder of the published files, relative to Root unless absolute.
	Dir string
	// Files overrides files by role (see Roles), relative to Root unless absolute.
	Files map[string]string
}

// NewInput resolves params.Source for domain: the user namespace defaults to
// the domain name.
func NewInput(dataRoot, domain string, src params.Source) Input {
	ns := src.UserNamespace
	if ns == "" {
		ns = domain
	}
	return Input{Root: dataRoot, Domain: domain, Namespace: ns, Dir: src.Dir, Files: src.Files}
}

// FileRole describes one file of a format.
type FileRole struct {
	Role string // key in params.Source.Files
	// Names are the default file names inside Dir, tried in order.
	Names []string
	// Optional files are skipped when the role is not in Files and no default
	// file exists; a file named in Files must exist.
	Optional bool
}

var formatRoles = map[string][]FileRole{
	FormatMovieLensCSV: {
		{Role: "ratings", Names: []string{"ratings.csv"}},
		{Role: "movies", Names: []string{"movies.csv"}},
		{Role: "tags", Names: []string{"tags.csv"}, Optional: true},
	},
	FormatMovieLens1M: {
		{Role: "ratings", Names: []string{"ratings.dat"}},
		{Role: "movies", Names: []string{"movies.dat"}},
		{Role: "users", Names: []string{"users.dat"}, Optional: true},
	},
	FormatMovieLens100K: {
		{Role: "ratings", Names: []string{"u.data"}},
		{Role: "movies", Names: []string{"u.item"}},
		{Role: "users", Names: []string{"u.user"}, Optional: true},
		{Role: "genres", Names: []string{"u.genre"}, Optional: true},
	},
	FormatGoodbooks: {
		{Role: "ratings", Names: []string{"ratings.csv", "ratings_random.csv"}},
		{Role: "books", Names: []string{"books.csv"}},
		{Role: "tags", Names: []string{"tags.csv"}, Optional: true},
		{Role: "book_tags", Names: []string{"book_tags.csv"}, Optional: true},
		{Role: "to_read", Names: []string{"to_read.csv"}, Optional: true},
	},
	FormatGoodreads: {
		{Role: "books", Names: []string{"books.csv"}},
	},
	FormatLastfmHetrec: {
		{Role: "user_artists", Names: []string{"user_artists.dat"}},
		{Role: "artists", Names: []string{"artists.dat"}},
		{Role: "tags", Names: []string{"tags.dat"}, Optional: true},
		{Role: "user_taggedartists", Names: []string{"user_taggedartists.dat"}, Optional: true},
		{Role: "user_taggedartists_timestamps", Names: []string{"user_taggedartists-timestamps.dat"}, Optional: true},
	},
	FormatLastfm1K: {
		{Role: "plays", Names: []string{"userid-timestamp-artid-artname-traid-traname.tsv"}},
	},
	FormatDouban: {
		{Role: "ratings", Names: []string{"ratings.dat"}},
	},
}

// Formats returns the known format names, sorted.
func Formats() []string { return sortedKeys(formatRoles) }

// Roles returns the files of a format.
func Roles(format string) ([]FileRole, error) {
	r, ok := formatRoles[format]
	if !ok {
		return nil, fmt.Errorf("ingest: unknown format %q (known: %s)", format, strings.Join(Formats(), ", "))
	}
	return slices.Clone(r), nil
}

// ReadDomain reads one domain's files as params.Source describes them and
// emits its rows to sink, counting into rep (which may be nil).
//
// The order of emission is deterministic: files in the order each format's
// reader documents, rows in file order, aggregated rows (lastfm-1k) sorted.
// Rows name their file relative to dataRoot and their 1-based line, so any
// artifact row leads back to its published line.
func ReadDomain(dataRoot, domain string, src params.Source, sink Sink, rep *Report) error {
	in := NewInput(dataRoot, domain, src)
	var read func(Input, Sink, *Report) error
	switch src.Format {
	case FormatMovieLensCSV:
		read = ReadMovieLensCSV
	case FormatMovieLens1M:
		read = ReadMovieLens1M
	case FormatMovieLens100K:
		read = ReadMovieLens100K
	case FormatGoodbooks:
		read = ReadGoodbooks
	case FormatGoodreads:
		read = ReadGoodreads
	case FormatLastfmHetrec:
		read = ReadLastfmHetrec
	case FormatLastfm1K:
		read = ReadLastfm1K
	case FormatDouban:
		read = ReadDouban
	default:
		_, err := Roles(src.Format)
		return fmt.Errorf("domain %s: %w", domain, err)
	}
	return read(in, sink, rep)
}
