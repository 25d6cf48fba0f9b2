package notebooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoot(t *testing.T) {
	repo := t.TempDir()
	nb := filepath.Join(repo, "notebooks")
	if err := os.MkdirAll(nb, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "dvc.yaml"), []byte("stages: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(RootEnv, "")
	t.Setenv("GONB_DIR", nb)
	if got, err := Root(); err != nil || got != repo {
		t.Errorf("Root() from the notebook folder = %q, %v; want %q", got, err, repo)
	}
	other := t.TempDir()
	t.Setenv(RootEnv, other)
	if got, err := Root(); err != nil || got != other {
		t.Errorf("Root() with %s set = %q, %v; want %q", RootEnv, got, err, other)
	}
	t.Setenv(RootEnv, "")
	t.Setenv("GONB_DIR", other)
	if _, err := Root(); err == nil || !strings.Contains(err.Error(), RootEnv) {
		t.Errorf("Root() with no dvc.yaml above: err %v, want one naming %s", err, RootEnv)
	}
}

func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	err := ReadJSON(filepath.Join(dir, "missing.json"), new(any))
	if err == nil || !strings.Contains(err.Error(), "dvc repro") {
		t.Errorf("missing file: err %v, want one saying to run dvc repro", err)
	}
	p := filepath.Join(dir, "x.json")
	os.WriteFile(p, []byte(`{"a": 1}`), 0o644)
	var v map[string]int
	if err := ReadJSON(p, &v); err != nil || v["a"] != 1 {
		t.Errorf("ReadJSON = %v, %v", v, err)
	}
	os.WriteFile(p, []byte(`{`), 0o644)
	if err := ReadJSON(p, &v); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("bad JSON: err %v, want one naming the file", err)
	}
}
