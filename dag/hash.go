package dag

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"
)

// hashPath returns the hex sha256 identifying a file or folder's content.
// A file hashes to the sha256 of its bytes. A folder hashes to the sha256
// of a listing, "dir\n" then one "<relative slash path>\x00<file sha256>\n"
// line per file in sorted path order, so the hash changes when any file is
// added, removed, renamed or edited, and never with walk order, timestamps
// or permissions. Empty folders do not count, as in DVC. skip (an absolute
// path, or "") is left out: the lock file may sit inside an output folder.
func hashPath(p, skip string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return hashFile(p)
	}
	var files []string
	err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || q == skip {
			return nil
		}
		rel, err := filepath.Rel(p, q)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return "", err
	}
	slices.Sort(files)
	h := sha256.New()
	io.WriteString(h, "dir\n")
	for _, rel := range files {
		fh, err := hashEntry(filepath.Join(p, filepath.FromSlash(rel)))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%s\n", rel, fh)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashEntry hashes one folder entry: regular files (or links to them) by
// content, any other link by its target, since following a link to a folder
// could loop.
func hashEntry(p string) (string, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return hashFile(p)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256([]byte("link\x00" + target))
		return hex.EncodeToString(sum[:]), nil
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", p)
	}
	return hashFile(p)
}

// hashFile streams a file through sha256; artifacts can be gigabytes.
func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashSection returns the sha256 of a params section's canonical YAML.
// yaml.v3 marshals maps with sorted keys, so comments, key order and
// formatting in params.yaml do not matter; values do.
func hashSection(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
