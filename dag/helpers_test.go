package dag

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes files (slash paths relative to root) into root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// parse parses a dvc.yaml written into a fresh temp repository together
// with files (params.yaml, vars files).
func parse(t *testing.T, dvcYAML string, files map[string]string) (*File, error) {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, files)
	return Parse(root, DVCFile, []byte(dvcYAML))
}

func mustParse(t *testing.T, dvcYAML string, files map[string]string) *File {
	t.Helper()
	f, err := parse(t, dvcYAML, files)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f
}

func names(ss []*StageDef) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// wantErr fails unless err's message contains every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error does not contain %q:\n%v", p, err)
		}
	}
}

// problemsOf unpacks a joined error into its *Problem values.
func problemsOf(t *testing.T, err error) []*Problem {
	t.Helper()
	var j interface{ Unwrap() []error }
	if !errors.As(err, &j) {
		t.Fatalf("not a joined error: %v", err)
	}
	var ps []*Problem
	for _, e := range j.Unwrap() {
		p, ok := e.(*Problem)
		if !ok {
			t.Fatalf("joined error %v is a %T, want *Problem", e, e)
		}
		ps = append(ps, p)
	}
	return ps
}
