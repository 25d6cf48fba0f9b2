package ingest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/schema"
)

// The machinery every format reader shares: resolving a role to a file,
// reading its header and rows, counting malformed rows, and the structural
// rule that turns "most rows are bad" into an error.

// domainCtx is the state shared by the files of one domain read.
type domainCtx struct {
	in     Input
	format string
	rep    *Report
	users  *interner // "<namespace>:" + source id
	items  *interner
	text   *interner // tag names and other repeated strings
	ts     int64Slab
	fl     float64Slab
	i64    int64Slab
	// noFast turns off the ratings fast path, so tests can check that it
	// gives exactly what the general path gives.
	noFast bool
}

// newDomain checks in against the format's roles and prepares a read.
func newDomain(in Input, format string, rep *Report) (*domainCtx, error) {
	roles := formatRoles[format]
	if in.Domain == "" {
		return nil, fmt.Errorf("ingest: %s: empty domain name", format)
	}
	for _, k := range sortedKeys(in.Files) {
		if !slices.ContainsFunc(roles, func(r FileRole) bool { return r.Role == k }) {
			names := make([]string, len(roles))
			for i, r := range roles {
				names[i] = r.Role
			}
			return nil, fmt.Errorf("domain %s: files: unknown role %q for format %s (roles: %s)",
				in.Domain, k, format, strings.Join(names, ", "))
		}
	}
	ns := in.Namespace
	if ns == "" {
		ns = in.Domain
	}
	if rep == nil {
		rep = NewReport()
	}
	rep.domain(in.Domain, format)
	return &domainCtx{
		in: in, format: format, rep: rep,
		users: newInterner(ns + ":"),
		items: newInterner(""),
		text:  newInterner(""),
	}, nil
}

// abs resolves a params path against the data root.
func (d *domainCtx) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.in.Root, p)
}

// relName is the Source text of a file: its path relative to the data root,
// slash-separated; a file outside the root keeps its absolute path.
func (d *domainCtx) relName(abs string) string {
	root, err1 := filepath.Abs(d.in.Root)
	a, err2 := filepath.Abs(abs)
	if err1 == nil && err2 == nil {
		if r, err := filepath.Rel(root, a); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(r)
		}
	}
	return filepath.ToSlash(abs)
}

// locate returns the path of a role's file, "" for an optional file that is
// absent.
func (d *domainCtx) locate(role string) (string, error) {
	var spec FileRole
	for _, r := range formatRoles[d.format] {
		if r.Role == role {
			spec = r
		}
	}
	if p, ok := d.in.Files[role]; ok {
		p = d.abs(p)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("domain %s: %s file: %w", d.in.Domain, role, err)
		}
		return p, nil
	}
	dir := d.abs(d.in.Dir)
	for _, n := range spec.Names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if spec.Optional {
		return "", nil
	}
	return "", fmt.Errorf("domain %s: %s file: none of %s in %s", d.in.Domain, role, strings.Join(spec.Names, ", "), dir)
}

// open opens a role's file; f is nil (and err nil) for an absent optional file.
func (d *domainCtx) open(role string, mode splitMode) (*fileCtx, error) {
	p, err := d.locate(role)
	if err != nil || p == "" {
		return nil, err
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("domain %s: %s file: %w", d.in.Domain, role, err)
	}
	rel := d.relName(p)
	f := newFileCtx(rel, fh, mode, d.rep.file(d.in.Domain, d.format, rel, role))
	f.closer = fh
	return f, nil
}

// run is the body of every exported per-format reader.
func run(in Input, format string, rep *Report, read func(*domainCtx) error) error {
	d, err := newDomain(in, format, rep)
	if err != nil {
		return err
	}
	return read(d)
}

// splitMode is how a file's lines become fields.
type splitMode struct {
	sep   byte   // single-byte separator, no quoting (tab, '|', ',')
	multi []byte // multi-byte separator ("::")
	csv   bool   // RFC 4180 quoted commas
}

var (
	modeTab    = splitMode{sep: '\t'}
	modeComma  = splitMode{sep: ','} // unquoted CSV: goodreads-kaggle, all-numeric files
	modePipe   = splitMode{sep: '|'}
	modeColons = splitMode{multi: []byte("::")}
	modeCSV    = splitMode{csv: true}
)

// Emitted-kind indexes of fileCtx.count.
const (
	kInteraction = iota
	kItem
	kTag
	kToRead
	kUser
	kLookup
	nKinds
)

var kindNames = [nKinds]string{EmitInteraction, EmitItem, EmitTag, EmitToRead, EmitUser, EmitLookup}

// structuralWindow: when more than half of a file's first structuralWindow
// rows are malformed, the file is taken to be in another layout and reading
// fails with the first bad row, instead of dropping the whole file row by row.
const structuralWindow = 100

// fileCtx is one file being read.
type fileCtx struct {
	rel    string
	rep    *FileReport
	lr     *lineReader
	cr     *csvReader
	mode   splitMode
	fields [][]byte
	ncols  int // fields per row, from the header or the layout
	count  [nKinds]int64
	closer io.Closer
	done   bool
}

func newFileCtx(rel string, r io.Reader, mode splitMode, rep *FileReport) *fileCtx {
	lr := newLineReader(r)
	f := &fileCtx{rel: rel, rep: rep, lr: lr, mode: mode}
	if mode.csv {
		f.cr = &csvReader{lr: lr}
	}
	return f
}

// close flushes the counters into the report and closes the file.
func (f *fileCtx) close() {
	if f.done {
		return
	}
	f.done = true
	for k, n := range f.count {
		if n > 0 {
			f.rep.Emitted[kindNames[k]] += n
		}
	}
	if f.lr.latin1 > 0 {
		f.rep.Notes["lines decoded as latin-1"] += f.lr.latin1
	}
	if f.lr.blank > 0 {
		f.rep.Notes["blank lines skipped"] += f.lr.blank
	}
	if f.closer != nil {
		f.closer.Close()
	}
}

// record returns the next non-blank line split into fields, without counting
// it as a data row (the header).
func (f *fileCtx) record() ([][]byte, int64, error) {
	for {
		if f.cr != nil {
			fields, no, err := f.cr.next()
			if err == errUnterminated {
				f.rep.Rows++
				if err := f.bad(no, "", "unterminated_quote", "quoted field never closes"); err != nil {
					return nil, no, err
				}
				continue
			}
			if err != nil {
				return nil, no, f.ioErr(no, err)
			}
			return fields, no, nil
		}
		line, no, err := f.lr.next()
		if err != nil {
			return nil, no, f.ioErr(no, err)
		}
		if len(line) == 0 {
			f.lr.blank++
			continue
		}
		if f.mode.multi != nil {
			f.fields = splitSep(f.fields, line, f.mode.multi)
		} else {
			f.fields = splitByte(f.fields, line, f.mode.sep)
		}
		return f.fields, no, nil
	}
}

func (f *fileCtx) ioErr(no int64, err error) error {
	if err == io.EOF {
		return io.EOF
	}
	return &ParseError{File: f.rel, Line: no, Msg: err.Error()}
}

// row returns the next data row, counted in Rows. At the end of the file it
// returns io.EOF, or the structural error when most rows were malformed.
func (f *fileCtx) row() ([][]byte, int64, error) {
	fields, no, err := f.record()
	if err == io.EOF {
		return nil, no, f.endCheck()
	}
	if err != nil {
		return nil, no, err
	}
	f.rep.Rows++
	return fields, no, nil
}

// endCheck applies the structural rule to a file shorter than the window.
func (f *fileCtx) endCheck() error {
	if f.rep.Rows < structuralWindow && f.rep.Malformed*2 > f.rep.Rows {
		return f.structural()
	}
	return io.EOF
}

func (f *fileCtx) structural() error {
	e := *f.rep.firstBad
	n := min(f.rep.Rows, structuralWindow)
	e.Msg += fmt.Sprintf(" (%d of the first %d rows are malformed: is the file in the %s layout?)",
		f.rep.Malformed, n, f.rep.Role)
	return &e
}

// bad counts a malformed row and keeps it as an example. It returns the
// structural error once most of the first rows are malformed.
// reason is a short stable code ("not_a_number", "field_count", ...).
func (f *fileCtx) bad(line int64, field, reason, msg string) error {
	key := reason
	if field != "" {
		key = field + ": " + reason
	}
	f.rep.Malformed++
	f.rep.MalformedByReason[key]++
	e := &ParseError{File: f.rel, Line: line, Field: field, Msg: msg}
	if f.rep.firstBad == nil {
		f.rep.firstBad = e
	}
	if len(f.rep.Examples) < maxExamples {
		f.rep.Examples = append(f.rep.Examples, e.Error())
	}
	if f.rep.Rows <= structuralWindow && f.rep.Malformed*2 > structuralWindow {
		return f.structural()
	}
	return nil
}

// badCount is bad for a row with the wrong number of fields.
func (f *fileCtx) badCount(line int64, got int) error {
	return f.bad(line, "", "field_count", fmt.Sprintf("expected %d fields, got %d", f.ncols, got))
}

func (f *fileCtx) note(what string) { f.rep.Notes[what]++ }

// header reads the header row and returns the index of each wanted column.
// Names match after trimming surrounding whitespace (goodreads-kaggle's
// "  num_pages"); order and extra columns are free, since the columns are
// looked up by name.
func (f *fileCtx) header(want ...string) ([]int, error) {
	fields, no, err := f.record()
	if err == io.EOF {
		return nil, &ParseError{File: f.rel, Line: 1, Field: "header", Msg: "empty file, want a header"}
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, len(fields))
	for i, b := range fields {
		names[i] = strings.TrimSpace(string(b))
	}
	f.ncols = len(names)
	idx := make([]int, len(want))
	for i, w := range want {
		idx[i] = slices.Index(names, w)
		if idx[i] < 0 {
			return nil, &ParseError{File: f.rel, Line: no, Field: "header",
				Msg: fmt.Sprintf("column %q missing (header is %q)", w, strings.Join(names, f.sepRune()))}
		}
	}
	return idx, nil
}

func (f *fileCtx) sepRune() string {
	switch {
	case f.mode.csv:
		return ","
	case f.mode.multi != nil:
		return string(f.mode.multi)
	}
	return string(f.mode.sep)
}

// wrap adds file and line to a sink error.
func (f *fileCtx) wrap(line int64, err error) error {
	return fmt.Errorf("%s:%d: %w", f.rel, line, err)
}

func (f *fileCtx) interaction(s Sink, x schema.Interaction) error {
	f.count[kInteraction]++
	if s.Interaction == nil {
		return nil
	}
	if err := s.Interaction(x); err != nil {
		return f.wrap(x.Line, err)
	}
	return nil
}

func (f *fileCtx) item(s Sink, x schema.Item, line int64) error {
	f.count[kItem]++
	if s.Item == nil {
		return nil
	}
	if err := s.Item(x); err != nil {
		return f.wrap(line, err)
	}
	return nil
}

func (f *fileCtx) tag(s Sink, x schema.Tag) error {
	f.count[kTag]++
	if s.Tag == nil {
		return nil
	}
	if err := s.Tag(x); err != nil {
		return f.wrap(x.Line, err)
	}
	return nil
}
