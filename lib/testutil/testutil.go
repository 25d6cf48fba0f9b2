// Package testutil finds the shared real datasets for tests.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the folder holding go.mod, found by walking up from the
// test's working folder.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: no go.mod above the test folder")
		}
		dir = parent
	}
}

// DataRoot returns the folder of the real datasets: $CROSSREC_DATA_ROOT if
// set, else ../shared/datasets beside the repository. The datasets are part
// of every developer's and CI's machine, so a missing folder fails the test
// rather than skipping it.
func DataRoot(t testing.TB) string {
	t.Helper()
	if r := os.Getenv("CROSSREC_DATA_ROOT"); r != "" {
		return r
	}
	root := filepath.Join(RepoRoot(t), "..", "shared", "datasets")
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("testutil: real datasets not found at %s (set CROSSREC_DATA_ROOT): %v", root, err)
	}
	return root
}
