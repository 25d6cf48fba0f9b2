// Command lineage checks every Parquet and Arrow artifact under a workspace's
// artifacts/ folder the way a teammate would after `dvc pull`: each file's
// content hash against the one recorded in it (artifact.Verify), each
// recorded input hash against the input the workspace holds now (an upstream
// artifact, or a raw file under data.root), and the recorded params hash
// against the workspace's params.yaml. It prints one line per artifact, then
// every mismatch, and exits 1 if there was any (or no artifact at all).
//
//	go run ./scripts/lineage [WORKSPACE]
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	n, edges, problems, err := check(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lineage:", err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "lineage:", p)
	}
	if len(problems) > 0 || n == 0 {
		fmt.Fprintf(os.Stderr, "lineage: %d artifacts, %d problems\n", n, len(problems))
		os.Exit(1)
	}
	fmt.Printf("lineage: %d artifacts verified (content hashes), %d recorded inputs and their params hashes match the workspace\n", n, edges)
}

// check verifies every artifact under root/artifacts and returns how many it
// read, how many input edges it followed, and what did not match.
func check(root string) (n, edges int, problems []string, err error) {
	p, err := params.Load(filepath.Join(root, "params.yaml"))
	if err != nil {
		return 0, 0, nil, err
	}
	var files []string
	err = filepath.WalkDir(filepath.Join(root, "artifacts"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".parquet") || strings.HasSuffix(path, ".arrow")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return 0, 0, nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		l, err := artifact.Verify(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		n++
		if want, err := p.Hash(l.ParamsSections...); err != nil || want != l.ParamsSHA256 {
			problems = append(problems, fmt.Sprintf("%s: params %v hash %s, params.yaml gives %s (%v)", rel, l.ParamsSections, l.ParamsSHA256, want, err))
		}
		for in, recorded := range l.Inputs {
			var path string
			if raw, ok := strings.CutPrefix(in, "data/"); ok {
				path = raw
				if !filepath.IsAbs(path) {
					path = p.Path(raw)
				}
			} else {
				path = filepath.Join(root, filepath.FromSlash(in))
			}
			var now string
			if strings.HasPrefix(in, "data/") {
				now, err = artifact.FileSHA256(path)
			} else {
				now, err = artifact.InputHash(path)
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: input %s: %v", rel, in, err))
				continue
			}
			if now != recorded {
				problems = append(problems, fmt.Sprintf("%s: input %s recorded as %.12s, the workspace has %.12s", rel, in, recorded, now))
				continue
			}
			edges++
		}
		fmt.Printf("%s  stage %s, content %.12s, %d inputs\n", rel, l.Stage, l.ContentSHA256, len(l.Inputs))
	}
	return n, edges, problems, nil
}
