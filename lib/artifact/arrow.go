package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// Arrow IPC files hold the dense, tensor-ready task arrays: a reader maps
// them into memory and hands the columns to the model without decoding,
// which is what Arrow is for. Lineage lives in the schema metadata under
// the same keys as in the Parquet footer.
//
// The content hash is the sha256 of the record batch serialised as an Arrow
// IPC stream under the schema stripped of its metadata: it depends on the
// arrays only, so it can be recorded inside the file it describes.

// arrowContentHash hashes rec's arrays, independent of schema metadata.
func arrowContentHash(rec arrow.RecordBatch) (string, error) {
	plain := arrow.NewSchema(rec.Schema().Fields(), nil)
	h := sha256.New()
	w := ipc.NewWriter(h, ipc.WithSchema(plain))
	r := array.NewRecordBatch(plain, rec.Columns(), rec.NumRows())
	defer r.Release()
	if err := w.Write(r); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteArrow writes rec to an Arrow IPC file at path, atomically, with
// lineage in its schema metadata. It returns the content hash.
func WriteArrow(path string, rec arrow.RecordBatch, lineage Lineage) (string, error) {
	sum, err := arrowContentHash(rec)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	kv, err := lineage.keyValues()
	if err != nil {
		return "", err
	}
	keys := []string{KeyContentSHA256}
	vals := []string{sum}
	for _, p := range kv {
		keys, vals = append(keys, p[0]), append(vals, p[1])
	}
	md := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(rec.Schema().Fields(), &md)
	out := array.NewRecordBatch(schema, rec.Columns(), rec.NumRows())
	defer out.Release()
	f, err := createTemp(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("%s: %w", path, err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		return fail(err)
	}
	if err := w.Write(out); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	return sum, commit(f, path)
}

// ReadArrow loads the single record batch of an Arrow artifact written by
// WriteArrow, verifying its content hash. The caller releases the batch.
func ReadArrow(path string) (arrow.RecordBatch, Lineage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Lineage{}, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		return nil, Lineage{}, fmt.Errorf("%s: %w", path, err)
	}
	defer r.Close()
	md := r.Schema().Metadata()
	l, err := lineageFrom(func(k string) (string, bool) {
		i := md.FindKey(k)
		if i < 0 {
			return "", false
		}
		return md.Values()[i], true
	})
	if err != nil {
		return nil, l, fmt.Errorf("%s: %w", path, err)
	}
	if r.NumRecords() != 1 {
		return nil, l, fmt.Errorf("%s: %d record batches, want 1", path, r.NumRecords())
	}
	rec, err := r.RecordBatch(0)
	if err != nil {
		return nil, l, fmt.Errorf("%s: %w", path, err)
	}
	sum, err := arrowContentHash(rec)
	if err != nil {
		return nil, l, fmt.Errorf("%s: %w", path, err)
	}
	if sum != l.ContentSHA256 {
		return nil, l, fmt.Errorf("%s: content sha256 %s does not match the recorded %s: the file changed after it was written", path, short(sum), short(l.ContentSHA256))
	}
	rec.Retain()
	return rec, l, nil
}

// readArrowLineage reads only the schema metadata.
func readArrowLineage(path string) (Lineage, error) {
	f, err := os.Open(path)
	if err != nil {
		return Lineage{}, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		return Lineage{}, fmt.Errorf("%s: %w", path, err)
	}
	defer r.Close()
	md := r.Schema().Metadata()
	l, err := lineageFrom(func(k string) (string, bool) {
		i := md.FindKey(k)
		if i < 0 {
			return "", false
		}
		return md.Values()[i], true
	})
	if err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}
