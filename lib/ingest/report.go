package ingest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// maxExamples is how many malformed rows each file keeps verbatim in the
// report: enough to see what went wrong without the report growing with the
// damage.
const maxExamples = 5

// Emitted-row kinds, the keys of FileReport.Emitted.
const (
	EmitInteraction = "interaction"
	EmitItem        = "item"
	EmitTag         = "tag"
	EmitToRead      = "to_read"
	// EmitUser counts valid rows of user-profile files (ml-1m users.dat,
	// ml-100k u.user): they have no sink callback and only feed the report.
	EmitUser = "user"
	// EmitLookup counts valid rows of files that only name things for other
	// files (tags.csv, tags.dat, u.genre); they emit nothing themselves.
	EmitLookup = "lookup"
)

// Report counts, per domain and per file, what ingest read, passed on and
// dropped. It is the ingest stage's metrics file, so it marshals to JSON
// deterministically: every map has string keys (encoding/json sorts them) and
// examples keep file order.
//
// A Report may be shared by readers running in parallel on different
// domains; each file's counters are written only by the reader of that file.
type Report struct {
	mu      sync.Mutex
	Domains map[string]*DomainReport `json:"domains"`
}

// DomainReport is one domain's files.
type DomainReport struct {
	Format string `json:"format"`
	// Files is keyed by the file's path relative to the data root, the same
	// text as the Source column of the rows it produced.
	Files map[string]*FileReport `json:"files"`
}

// FileReport counts one file.
type FileReport struct {
	Role string `json:"role"`
	// Rows is the number of data rows read: header and blank lines excluded,
	// malformed rows included. For lastfm-1k it counts plays, before
	// aggregation.
	Rows int64 `json:"rows"`
	// Emitted counts rows passed on, by kind (interaction, item, tag,
	// to_read; user and lookup for files that only validate or name things).
	Emitted map[string]int64 `json:"emitted"`
	// Malformed is the number of rows dropped; MalformedByReason splits it by
	// "field: problem" (or "field_count", "unterminated_quote").
	Malformed         int64            `json:"malformed"`
	MalformedByReason map[string]int64 `json:"malformed_by_reason"`
	// Recovered counts rows that were malformed as published but repaired
	// unambiguously (goodreads-kaggle's unquoted commas in authors); they are
	// also counted in Emitted.
	Recovered int64 `json:"recovered"`
	// Notes counts rows kept as they are but worth knowing about: lines
	// decoded as latin-1, references to ids another file lacks, dates that
	// cannot be right.
	Notes map[string]int64 `json:"notes"`
	// Examples are the first few malformed rows as "file:line: field: problem".
	Examples []string `json:"examples"`

	firstBad *ParseError // first malformed row, for the structural error
}

func newFileReport(role string) *FileReport {
	return &FileReport{
		Role:              role,
		Emitted:           map[string]int64{},
		MalformedByReason: map[string]int64{},
		Notes:             map[string]int64{},
		Examples:          []string{},
	}
}

// NewReport returns an empty report.
func NewReport() *Report { return &Report{Domains: map[string]*DomainReport{}} }

// domain returns the domain's report, creating it.
func (r *Report) domain(name, format string) *DomainReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Domains == nil {
		r.Domains = map[string]*DomainReport{}
	}
	d, ok := r.Domains[name]
	if !ok {
		d = &DomainReport{Format: format, Files: map[string]*FileReport{}}
		r.Domains[name] = d
	}
	return d
}

// file returns a fresh report for one file of a domain. Reading a file twice
// into one report starts its counts over, so a retried read does not double
// count.
func (r *Report) file(domain, format, rel, role string) *FileReport {
	d := r.domain(domain, format)
	fr := newFileReport(role)
	r.mu.Lock()
	d.Files[rel] = fr
	r.mu.Unlock()
	return fr
}

// MalformedFraction is the share of the file's rows that were dropped.
func (f *FileReport) MalformedFraction() float64 {
	if f.Rows == 0 {
		return 0
	}
	return float64(f.Malformed) / float64(f.Rows)
}

// CheckMalformed returns an error naming every file whose malformed fraction
// exceeds max (params.Ingest.MaxMalformedFraction), with its first examples.
// A few bad rows are expected and dropped; many mean the file is not what the
// parser thinks it is, and its output should not be trusted.
func (r *Report) CheckMalformed(max float64) error {
	if r == nil {
		return nil
	}
	var errs []error
	for _, dn := range sortedKeys(r.Domains) {
		d := r.Domains[dn]
		for _, fn := range sortedKeys(d.Files) {
			f := d.Files[fn]
			if frac := f.MalformedFraction(); frac > max {
				msg := fmt.Sprintf("%s (domain %s): %d of %d rows malformed (%.4g%% > max %.4g%%)",
					fn, dn, f.Malformed, f.Rows, 100*frac, 100*max)
				if len(f.Examples) > 0 {
					msg += "; e.g. " + strings.Join(f.Examples, "; ")
				}
				errs = append(errs, errors.New(msg))
			}
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ParseError locates a problem in an input file. Its text is
// "file:line: field "name": message", the form editors and CI logs link to.
type ParseError struct {
	File  string // path relative to the data root
	Line  int64  // 1-based physical line; 0 when the problem is the whole file
	Field string // column name, "header", or "" when the row as a whole is wrong
	Msg   string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}
