package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
)

type piece struct {
	Values []float32
	Epoch  int
}

// TestRoundTrip: a checkpoint is read back only under the fingerprint it
// was saved with; a damaged or missing one is no checkpoint, not an error.
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "d.gob")
	want := piece{Values: []float32{1, 2.5, -3}, Epoch: 7}
	if err := Save(path, "fp-a", want); err != nil {
		t.Fatal(err)
	}
	var got piece
	if ok, err := Load(path, "fp-a", &got); !ok || err != nil {
		t.Fatalf("Load = %v, %v; want the saved checkpoint", ok, err)
	}
	if got.Epoch != 7 || len(got.Values) != 3 || got.Values[1] != 2.5 {
		t.Fatalf("read back %+v, saved %+v", got, want)
	}
	if ok, _ := Load(path, "fp-b", &piece{}); ok {
		t.Fatal("a checkpoint was used under another fingerprint")
	}
	if err := os.WriteFile(path, []byte("not gob"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := Load(path, "fp-a", &piece{}); ok || err != nil {
		t.Fatalf("damaged checkpoint: Load = %v, %v; want false, nil", ok, err)
	}
	if ok, err := Load(filepath.Join(t.TempDir(), "none.gob"), "fp-a", &piece{}); ok || err != nil {
		t.Fatalf("missing checkpoint: Load = %v, %v; want false, nil", ok, err)
	}
	if ok, err := Load("", "fp-a", &piece{}); ok || err != nil || Save("", "fp-a", want) != nil {
		t.Fatal("an empty path must mean no checkpoint")
	}
}
