package artifact

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// RowGroupRows is the number of rows per row group: small enough that readers
// stream in bounded memory, large enough for good compression.
const RowGroupRows = 1 << 17

// writerOptions are fixed so equal rows give byte-identical files: no
// timestamps, a constant created-by string, one codec, fixed row-group and
// page sizes.
func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.CreatedBy("crossrec", FormatVersion, "none"),
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.PageBufferSize(1 << 20),
		parquet.DataPageStatistics(true),
	}
}

// Writer streams rows of type T into a Parquet artifact.
type Writer[T any] struct {
	path    string
	tmp     *os.File
	buf     *bufio.Writer
	w       *parquet.GenericWriter[T]
	lineage Lineage
	rows    int64
	done    bool
}

// Create starts an artifact at path. Rows become visible at path only when
// Close succeeds; Abort (or a failed Close) removes every trace.
func Create[T any](path string, lineage Lineage) (*Writer[T], error) {
	if lineage.Stage == "" {
		return nil, fmt.Errorf("%s: lineage needs the writing stage", path)
	}
	f, err := createTemp(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Lineage goes into the footer at Close, when the content hash is
	// known; SetLineage may still change it until then.
	opts := writerOptions()
	buf := bufio.NewWriterSize(f, 1<<20)
	return &Writer[T]{path: path, tmp: f, buf: buf, w: parquet.NewGenericWriter[T](buf, opts...), lineage: lineage}, nil
}

// Write appends rows.
func (w *Writer[T]) Write(rows []T) error {
	if _, err := w.w.Write(rows); err != nil {
		return fmt.Errorf("%s: write: %w", w.path, err)
	}
	w.rows += int64(len(rows))
	return nil
}

// SetLineage replaces the lineage recorded at Close, for stages that learn
// their inputs while they stream (ingest learns which files it read).
func (w *Writer[T]) SetLineage(l Lineage) { w.lineage = l }

// Rows is the number of rows written so far.
func (w *Writer[T]) Rows() int64 { return w.rows }

// Abort discards the artifact. It is safe after Close.
func (w *Writer[T]) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// Close finishes the file, records its content hash, and renames it into
// place. It returns the content hash.
func (w *Writer[T]) Close() (string, error) {
	if w.done {
		return "", fmt.Errorf("%s: writer already closed", w.path)
	}
	fail := func(err error) (string, error) {
		w.Abort()
		return "", fmt.Errorf("%s: %w", w.path, err)
	}
	if err := w.w.Close(); err != nil {
		return fail(err)
	}
	if err := w.buf.Flush(); err != nil {
		return fail(err)
	}
	sum, err := stampLineage(w.tmp, w.lineage)
	if err != nil {
		return fail(err)
	}
	w.done = true
	if err := commit(w.tmp, w.path); err != nil {
		return "", err
	}
	return sum, nil
}

// footer locates and decodes the Parquet footer of f.
func footer(f io.ReaderAt, size int64) (md format.FileMetaData, start int64, err error) {
	if size < 12 {
		return md, 0, errors.New("not a Parquet file: too short")
	}
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return md, 0, err
	}
	if string(tail[4:]) != "PAR1" {
		return md, 0, errors.New("not a Parquet file: no PAR1 trailer")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	start = size - 8 - n
	if start < 4 {
		return md, 0, errors.New("corrupt Parquet footer length")
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, start); err != nil {
		return md, 0, err
	}
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), buf, &md); err != nil {
		return md, 0, fmt.Errorf("decode footer: %w", err)
	}
	return md, start, nil
}

// hashPrefix is the sha256 of the first n bytes of f.
func hashPrefix(f io.ReaderAt, n int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, n)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stampLineage hashes everything before the footer and rewrites the footer
// with the lineage and the hash in its key-value metadata.
func stampLineage(f *os.File, lineage Lineage) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	md, start, err := footer(f, st.Size())
	if err != nil {
		return "", err
	}
	sum, err := hashPrefix(f, start)
	if err != nil {
		return "", err
	}
	kvs, err := lineage.keyValues()
	if err != nil {
		return "", err
	}
	md.KeyValueMetadata = md.KeyValueMetadata[:0]
	for _, kv := range append(kvs, [2]string{KeyContentSHA256, sum}) {
		md.KeyValueMetadata = append(md.KeyValueMetadata, format.KeyValue{Key: kv[0], Value: kv[1]})
	}
	enc, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		return "", err
	}
	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[:4], uint32(len(enc)))
	copy(tail[4:], "PAR1")
	if err := f.Truncate(start); err != nil {
		return "", err
	}
	if _, err := f.WriteAt(append(enc, tail[:]...), start); err != nil {
		return "", err
	}
	return sum, nil
}

// ReadLineage reads an artifact's lineage from its footer without reading rows.
// Arrow IPC artifacts (.arrow) keep it in their schema metadata.
func ReadLineage(path string) (Lineage, error) {
	if strings.HasSuffix(path, ".arrow") {
		return readArrowLineage(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Lineage{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Lineage{}, err
	}
	md, _, err := footer(f, st.Size())
	if err != nil {
		return Lineage{}, fmt.Errorf("%s: %w", path, err)
	}
	l, err := lineageFrom(func(k string) (string, bool) {
		for _, kv := range md.KeyValueMetadata {
			if kv.Key == k {
				return kv.Value, true
			}
		}
		return "", false
	})
	if err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// Verify recomputes the content hash of an artifact and compares it with the
// one recorded in its footer: a mismatch means the file was changed after the
// pipeline wrote it.
func Verify(path string) (Lineage, error) {
	if strings.HasSuffix(path, ".arrow") {
		rec, l, err := ReadArrow(path)
		if err == nil {
			rec.Release()
		}
		return l, err
	}
	l, err := ReadLineage(path)
	if err != nil {
		return l, err
	}
	f, err := os.Open(path)
	if err != nil {
		return l, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return l, err
	}
	_, start, err := footer(f, st.Size())
	if err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	sum, err := hashPrefix(f, start)
	if err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	if sum != l.ContentSHA256 {
		return l, fmt.Errorf("%s: content sha256 %s does not match the recorded %s: the file changed after it was written", path, short(sum), short(l.ContentSHA256))
	}
	return l, nil
}

// Scan streams the rows of an artifact in batches of at most batch rows,
// calling fn for each; fn must not keep the slice. Memory stays bounded by
// the batch and one row group, whatever the file size.
func Scan[T any](path string, batch int, fn func(rows []T) error) (Lineage, error) {
	l, err := ReadLineage(path)
	if err != nil {
		return l, err
	}
	f, err := os.Open(path)
	if err != nil {
		return l, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return l, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkSchema[T](pf); err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	if batch <= 0 {
		batch = 4096
	}
	buf := make([]T, batch)
	for _, rg := range pf.RowGroups() {
		r := parquet.NewGenericRowGroupReader[T](rg)
		for {
			clear(buf)
			n, err := r.Read(buf)
			if n > 0 {
				if ferr := fn(buf[:n]); ferr != nil {
					r.Close()
					return l, ferr
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				r.Close()
				return l, fmt.Errorf("%s: read: %w", path, err)
			}
		}
		r.Close()
	}
	return l, nil
}

// ReadAll loads every row of an artifact. Use it for tables that fit in
// memory (items, scalers); stream interactions with Scan.
func ReadAll[T any](path string) ([]T, Lineage, error) {
	var out []T
	l, err := Scan(path, 8192, func(rows []T) error {
		out = append(out, rows...)
		return nil
	})
	return out, l, err
}

// checkSchema fails with a clear message when the file's columns are not
// those of T, instead of silently reading zeros.
func checkSchema[T any](pf *parquet.File) error {
	want := parquet.SchemaOf(new(T))
	got := pf.Schema()
	for _, path := range want.Columns() {
		if _, ok := got.Lookup(path...); !ok {
			return fmt.Errorf("column %q missing (file schema: %s)", path, got)
		}
	}
	return nil
}
