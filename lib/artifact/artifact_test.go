package artifact

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type row struct {
	User  string   `parquet:"user,dict"`
	Value float64  `parquet:"value"`
	Tags  []string `parquet:"tags,list"`
	TS    *int64   `parquet:"ts,optional"`
}

func sampleRows(n int) []row {
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{User: "u" + string(rune('a'+i%7)), Value: float64(i) / 3, Tags: []string{"x", "y"}[:i%3%2+1]}
		if i%2 == 0 {
			ts := int64(i * 1000)
			rows[i].TS = &ts
		}
	}
	return rows
}

func writeRows(t *testing.T, path string, rows []row, l Lineage) string {
	t.Helper()
	w, err := Create[row](path, l)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(rows); i += 1000 {
		if err := w.Write(rows[i:min(i+1000, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

var testLineage = Lineage{Stage: "test", Inputs: map[string]string{"b.csv": "bb", "a.csv": "aa"}, ParamsSections: []string{"clean", "split"}, ParamsSHA256: "pp"}

func TestRoundTripAndLineage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "t.parquet")
	rows := sampleRows(300_000) // spans several row groups
	sum := writeRows(t, path, rows, testLineage)
	got, l, err := ReadAll[row](path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
	}
	for i := range rows {
		a, b := rows[i], got[i]
		if a.User != b.User || a.Value != b.Value || strings.Join(a.Tags, ",") != strings.Join(b.Tags, ",") || (a.TS == nil) != (b.TS == nil) || (a.TS != nil && *a.TS != *b.TS) {
			t.Fatalf("row %d: wrote %+v read %+v", i, a, b)
		}
	}
	if l.Stage != "test" || l.ContentSHA256 != sum || l.Inputs["a.csv"] != "aa" || l.ParamsSHA256 != "pp" || strings.Join(l.ParamsSections, ",") != "clean,split" {
		t.Fatalf("lineage %+v", l)
	}
	if _, err := Verify(path); err != nil {
		t.Fatal(err)
	}
	if h, err := InputHash(path); err != nil || h != sum {
		t.Fatalf("InputHash = %q, %v; want content hash %q", h, err, sum)
	}
	// No temporary file is left beside the artifact.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only the artifact", len(entries))
	}
}

func TestDeterministicBytes(t *testing.T) {
	dir := t.TempDir()
	rows := sampleRows(50_000)
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	sa := writeRows(t, a, rows, testLineage)
	sb := writeRows(t, b, rows, testLineage)
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if sa != sb || !bytes.Equal(ba, bb) {
		t.Fatal("same rows and lineage gave different bytes")
	}
	// Different lineage: same content hash, different file.
	other := testLineage
	other.Stage = "other"
	c := filepath.Join(dir, "c.parquet")
	if sc := writeRows(t, c, rows, other); sc != sa {
		t.Fatal("content hash depends on metadata")
	}
	// Different rows: different content hash.
	rows[7].Value++
	if sd := writeRows(t, filepath.Join(dir, "d.parquet"), rows, testLineage); sd == sa {
		t.Fatal("content hash did not change with the rows")
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeRows(t, path, sampleRows(1000), testLineage)
	b, _ := os.ReadFile(path)
	b[100] ^= 0xff
	os.WriteFile(path, b, 0o644)
	if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("Verify of a tampered file: %v", err)
	}
}

func TestAbortLeavesPreviousArtifact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeRows(t, path, sampleRows(10), testLineage)
	before, _ := os.ReadFile(path)
	w, err := Create[row](path, testLineage)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(sampleRows(5))
	w.Abort() // an interrupted stage
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("aborted write changed the artifact")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("abort left %d entries", len(entries))
	}
}

func TestSchemaMismatchIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeRows(t, path, sampleRows(10), testLineage)
	type other struct {
		Missing int64 `parquet:"missing"`
	}
	if _, _, err := ReadAll[other](path); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("reading with a wrong schema: %v", err)
	}
	if _, err := ReadLineage(filepath.Join(t.TempDir(), "none.parquet")); err == nil {
		t.Fatal("lineage of a missing file")
	}
	os.WriteFile(path, []byte("not parquet at all"), 0o644)
	if _, err := ReadLineage(path); err == nil || !strings.Contains(err.Error(), "PAR1") {
		t.Fatalf("lineage of a non-Parquet file: %v", err)
	}
}

func TestWriteJSONAtomicAndSorted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	if err := WriteJSON(path, map[string]int{"b": 2, "a": 1}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "{\n  \"a\": 1,\n  \"b\": 2\n}\n" {
		t.Fatalf("json %q", b)
	}
}
