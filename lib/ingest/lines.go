package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

const (
	// readBufSize is the bufio buffer: large enough that nearly every line is
	// returned in place by ReadSlice, without a copy.
	readBufSize = 256 << 10
	// maxLineBytes bounds one physical line, so a file without line breaks
	// (a binary file, a wrong path) fails instead of filling memory.
	maxLineBytes = 16 << 20
)

// errLineTooLong is returned for a physical line over maxLineBytes.
var errLineTooLong = errors.New("line longer than 16 MiB: not a text table")

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// lineReader returns a file's physical lines one at a time, without their
// terminator (LF or CRLF), with a leading UTF-8 BOM removed and every line
// decoded to UTF-8. The returned slice is valid until the next call.
//
// Encodings: UTF-8 is accepted as is. A line that is not valid UTF-8 is
// decoded as latin-1 (ISO-8859-1, each byte one code point): ml-1m's .dat
// files, ml-100k's u.item and u.user and Last.fm HetRec's tags.dat are
// latin-1 as published, and deciding per line means a UTF-8 file with one
// stray latin-1 line still reads right everywhere else.
type lineReader struct {
	br      *bufio.Reader
	n       int64  // physical lines returned so far, the last line's number
	long    []byte // assembly buffer for lines longer than the bufio buffer
	conv    []byte // latin-1 to UTF-8 output buffer
	latin1  int64  // lines decoded as latin-1
	blank   int64  // blank lines seen by callers that skip them
	pending []pendingLine
}

// pendingLine is a line pushed back by unread.
type pendingLine struct {
	no   int64
	text []byte
}

// newLineReader sizes its buffer to the input when the size is known, so
// the many small files (and fuzz inputs) do not each pay for 256 KiB.
func newLineReader(r io.Reader) *lineReader {
	size := int64(readBufSize)
	switch v := r.(type) {
	case interface{ Len() int }:
		size = int64(v.Len())
	case *os.File:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	size = max(min(size+64, readBufSize), 4096)
	return &lineReader{br: bufio.NewReaderSize(r, int(size))}
}

// next returns the next line and its 1-based number, or io.EOF.
func (r *lineReader) next() ([]byte, int64, error) {
	line, no, err := r.nextRaw()
	if err != nil {
		return line, no, err
	}
	return r.decode(line), no, nil
}

// decode returns line as UTF-8: as is when valid (so decoding twice is
// harmless), else decoded as latin-1 into a buffer valid until the next call.
func (r *lineReader) decode(line []byte) []byte {
	if utf8.Valid(line) {
		return line
	}
	r.latin1++
	r.conv = appendLatin1(r.conv[:0], line)
	return r.conv
}

// nextRaw is next without the UTF-8 check, for the ratings fast path: a
// line of digits and separators is ASCII, so only the lines it rejects need
// decode.
func (r *lineReader) nextRaw() ([]byte, int64, error) {
	if len(r.pending) > 0 {
		p := r.pending[0]
		r.pending = r.pending[1:]
		return p.text, p.no, nil
	}
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
			if len(r.long) > maxLineBytes {
				return nil, r.n + 1, errLineTooLong
			}
		}
		line = r.long
	}
	if err != nil && err != io.EOF {
		return nil, r.n + 1, err
	}
	if len(line) == 0 { // io.EOF with nothing left: a final newline, or an empty file
		return nil, r.n, io.EOF
	}
	r.n++
	if n := len(line); line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	} else if n := len(line); line[n-1] == '\r' { // a final line "...\r" without LF
		line = line[:n-1]
	}
	if r.n == 1 {
		line = bytes.TrimPrefix(line, utf8BOM)
	}
	return line, r.n, nil
}

// unread pushes lines back to be returned, in order, before the rest of the
// file. The texts are copied and must be decoded already.
func (r *lineReader) unread(lines []pendingLine) {
	cp := make([]pendingLine, 0, len(lines)+len(r.pending))
	for _, l := range lines {
		cp = append(cp, pendingLine{no: l.no, text: bytes.Clone(l.text)})
	}
	r.pending = append(cp, r.pending...)
}

// appendLatin1 appends the UTF-8 encoding of latin-1 text b to dst.
func appendLatin1(dst, b []byte) []byte {
	for _, c := range b {
		if c < utf8.RuneSelf {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

// splitByte splits line on sep into dst (reused), with no quoting: the
// tab-separated .dat files and the all-numeric CSVs have none.
func splitByte(dst [][]byte, line []byte, sep byte) [][]byte {
	dst = dst[:0]
	for {
		i := bytes.IndexByte(line, sep)
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

// splitSep splits line on a multi-byte separator ("::" in ml-1m).
func splitSep(dst [][]byte, line, sep []byte) [][]byte {
	dst = dst[:0]
	for {
		i := bytes.Index(line, sep)
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+len(sep):]
	}
}

// splitCSV splits one CSV record on commas with RFC 4180 quoting, leniently:
// a quote inside an unquoted field is literal, and a quote inside a quoted
// field that is neither doubled nor followed by a comma or the end is kept
// literally (encoding/csv's LazyQuotes), because published files contain
// both. Unescaped fields are written to scratch, which is returned for reuse.
// open reports that the record ended inside a quoted field: the caller
// appends the next line (RFC 4180 allows line breaks in quoted fields) and
// splits again.
func splitCSV(dst [][]byte, scratch, rec []byte) (fields [][]byte, scr []byte, open bool) {
	dst = dst[:0]
	if bytes.IndexByte(rec, '"') < 0 { // fast path: nothing quoted
		return splitByte(dst, rec, ','), scratch, false
	}
	scratch = scratch[:0]
	i := 0
	for {
		if i >= len(rec) || rec[i] != '"' {
			j := bytes.IndexByte(rec[i:], ',')
			if j < 0 {
				return append(dst, rec[i:]), scratch, false
			}
			dst = append(dst, rec[i:i+j])
			i += j + 1
			continue
		}
		// Quoted field starting at i.
		i++
		start := len(scratch)
		for {
			j := bytes.IndexByte(rec[i:], '"')
			if j < 0 {
				return append(dst, append(scratch, rec[i:]...)[start:]), scratch, true
			}
			scratch = append(scratch, rec[i:i+j]...)
			i += j + 1
			switch {
			case i < len(rec) && rec[i] == '"': // doubled quote
				scratch = append(scratch, '"')
				i++
				continue
			case i >= len(rec): // closing quote at end of record
				return append(dst, scratch[start:]), scratch, false
			case rec[i] == ',': // closing quote before the next field
				dst = append(dst, scratch[start:])
				i++
			default: // bare quote inside a quoted field: literal
				scratch = append(scratch, '"')
				continue
			}
			break
		}
	}
}

// csvOpen reports whether a CSV line, entered inside a quoted field when
// inQuote, ends inside one, by the rules of splitCSV. It lets a record that
// runs over line breaks grow line by line in linear time, instead of
// splitting the whole record again after every line.
func csvOpen(line []byte, inQuote bool) bool {
	i := 0
	for {
		if !inQuote { // at the start of a field
			if i < len(line) && line[i] == '"' {
				inQuote = true
				i++
				continue
			}
			j := bytes.IndexByte(line[i:], ',')
			if j < 0 {
				return false
			}
			i += j + 1
			continue
		}
		j := bytes.IndexByte(line[i:], '"')
		if j < 0 {
			return true
		}
		i += j + 1
		switch {
		case i < len(line) && line[i] == '"': // doubled quote
			i++
		case i >= len(line): // closing quote at the end
			return false
		case line[i] == ',': // closing quote before the next field
			inQuote = false
			i++
		} // otherwise a bare quote, literal: still inside
	}
}

// csvReader reads CSV records, possibly spanning lines, from a lineReader.
type csvReader struct {
	lr      *lineReader
	fields  [][]byte
	scratch []byte
	rec     []byte     // a multi-line record, lines joined by "\n"
	spans   []lineSpan // its physical lines
}

// lineSpan is one physical line of csvReader.rec.
type lineSpan struct {
	no         int64
	start, end int
}

// maxRecordLines bounds a quoted field running over line breaks: past it the
// quote is taken to be unterminated, the first line is malformed and the
// following lines are read again as records of their own.
const maxRecordLines = 64

// errUnterminated marks a record whose quoted field never closes.
var errUnterminated = errors.New("unterminated quoted field")

// next returns the next non-blank record, the number of its first line, and
// errUnterminated (with the first line's number) for an unterminated quote.
func (c *csvReader) next() ([][]byte, int64, error) {
	for {
		line, no, err := c.lr.next()
		if err != nil {
			return nil, no, err
		}
		if len(line) == 0 {
			c.lr.blank++
			continue
		}
		var open bool
		c.fields, c.scratch, open = splitCSV(c.fields, c.scratch, line)
		if !open {
			return c.fields, no, nil
		}
		c.rec = append(c.rec[:0], line...)
		c.spans = append(c.spans[:0], lineSpan{no, 0, len(line)})
		for {
			more, mno, err := c.lr.next()
			if err == io.EOF || (err == nil && len(c.spans) >= maxRecordLines) {
				back := make([]pendingLine, 0, len(c.spans))
				for _, s := range c.spans[1:] {
					back = append(back, pendingLine{no: s.no, text: c.rec[s.start:s.end]})
				}
				if err == nil {
					back = append(back, pendingLine{no: mno, text: more})
				}
				c.lr.unread(back)
				return nil, no, errUnterminated
			}
			if err != nil {
				return nil, mno, err
			}
			c.rec = append(c.rec, '\n')
			start := len(c.rec)
			c.rec = append(c.rec, more...)
			c.spans = append(c.spans, lineSpan{mno, start, len(c.rec)})
			if !csvOpen(more, true) {
				c.fields, c.scratch, _ = splitCSV(c.fields, c.scratch, c.rec)
				return c.fields, no, nil
			}
		}
	}
}

// describe quotes a field value for an error message, cut to a readable length.
func describe(b []byte) string {
	const max = 40
	if len(b) > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
