package artifact

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// createTemp opens a temporary file beside path, in the same folder so the
// final rename stays on one filesystem and is atomic.
func createTemp(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
}

// commit syncs and closes f, then renames it over path.
func commit(f *os.File, path string) error {
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("%s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s: rename: %w", path, err)
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file and rename.
func WriteFileAtomic(path string, data []byte) error {
	f, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	return commit(f, path)
}

// WriteJSON writes v as indented JSON (a stage report or DVC metric),
// atomically. encoding/json sorts map keys, so the bytes are deterministic.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}
