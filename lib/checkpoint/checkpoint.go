// Package checkpoint keeps a trainer's finished pieces of work (a domain's
// network, a group's graph) on disk, so a stopped run resumes where it
// stopped. A checkpoint carries the fingerprint of the options and inputs
// that produced it and is used only by a run with the same fingerprint.
// Checkpoints are not pipeline outputs (gob is not a stable format).
package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/crossrec/crossrec/lib/artifact"
)

// Load decodes the checkpoint at path into v. It reports false, and
// leaves v alone, when there is none, when it was written under another
// fingerprint, or when it does not decode (a damaged file is retrained,
// not trusted); an empty path is no checkpoint.
func Load(path, fingerprint string, v any) (bool, error) {
	if path == "" {
		return false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	dec := gob.NewDecoder(bytes.NewReader(b))
	var fp string
	if err := dec.Decode(&fp); err != nil || fp != fingerprint {
		return false, nil
	}
	if err := dec.Decode(v); err != nil {
		return false, nil
	}
	return true, nil
}

// Save writes v under fingerprint to path, atomically; an empty path
// saves nothing.
func Save(path, fingerprint string, v any) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	enc := gob.NewEncoder(&b)
	if err := enc.Encode(fingerprint); err != nil {
		return err
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	return artifact.WriteFileAtomic(path, b.Bytes())
}

// Path is where a trainer keeps its finished piece name in folder dir (""
// when dir is "": no checkpoints).
func Path(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name+".gob")
}

// Fingerprint hashes a trainer's options (their JSON form): the caller
// clears what must not tell two runs apart (a progress writer, the
// checkpoint folder itself).
func Fingerprint(options any) string {
	b, _ := json.Marshal(options)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
