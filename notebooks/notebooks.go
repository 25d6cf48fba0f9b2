// Package notebooks holds the project's GoNB notebooks (01-eda.ipynb,
// 02-results.ipynb), the script that installs the Go kernel and executes
// them headless (run.sh), the test that does so (notebooks_test.go, build
// tag notebooks), and the few helpers the notebooks share: where the
// repository is and how to read its JSON outputs. Drawing lives in
// lib/plots; everything else the notebooks show comes from lib.
package notebooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// RootEnv names the environment variable that points the notebooks at
// another checkout's artifacts.
const RootEnv = "CROSSREC_ROOT"

// Root returns the repository whose artifacts the notebooks read: $CROSSREC_ROOT
// when set, else the nearest folder holding dvc.yaml at or above $GONB_DIR
// (the notebook's folder, which GoNB sets) or, outside GoNB, the working
// folder.
func Root() (string, error) {
	if r := os.Getenv(RootEnv); r != "" {
		return filepath.Abs(r)
	}
	start := os.Getenv("GONB_DIR")
	if start == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		start = wd
	}
	start, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for dir := start; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "dvc.yaml")); err == nil {
			return dir, nil
		}
		if dir == filepath.Dir(dir) {
			return "", fmt.Errorf("no dvc.yaml at or above %s: set %s to the repository", start, RootEnv)
		}
	}
}

// ReadJSON decodes the JSON file at path into v. A missing file is an
// error that says how to make it: the notebooks read what the pipeline
// wrote and never compute it themselves.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is missing: run `dvc repro` (or `go run ./dag/cmd/dag run`) in the repository first", path)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
