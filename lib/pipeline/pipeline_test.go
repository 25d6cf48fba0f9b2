package pipeline

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/ingest"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/testutil"
)

// runAll runs every data stage on the real datasets into a fresh root, in
// declaration order (which is the graph's topological order).
func runAll(t *testing.T) string {
	t.Helper()
	repo := testutil.RepoRoot(t)
	root := t.TempDir()
	// params.yaml with the data root made absolute, and the reviewed genre
	// tables the align stage reads.
	b, err := os.ReadFile(filepath.Join(repo, "params.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("root: ../shared/datasets"), []byte("root: "+testutil.DataRoot(t)), 1)
	if err := os.WriteFile(filepath.Join(root, "params.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{GenreMap, GenreList} {
		b, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(root, f), b, 0o644)
	}
	stages, err := Declarations(root)
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Root: root, Params: filepath.Join(root, "params.yaml")}
	for _, s := range stages {
		if !dataStage(s.Name) {
			continue
		}
		if err := s.Run(env); err != nil {
			t.Fatalf("stage %s: %v", s.Name, err)
		}
	}
	return root
}

// dataStage: the stages of the data pipeline (issue scope of this test).
func dataStage(name string) bool {
	switch name {
	case "ingest", "clean", "normalize", "features", "align", "eda", "split", "tasks":
		return true
	}
	return false
}

func TestPipelineOnRealData(t *testing.T) {
	a := runAll(t)
	b := runAll(t)

	t.Run("deterministic bytes", func(t *testing.T) {
		n := 0
		filepath.WalkDir(filepath.Join(a, "artifacts"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(a, p)
			x, _ := os.ReadFile(p)
			y, err := os.ReadFile(filepath.Join(b, rel))
			if err != nil || !bytes.Equal(x, y) {
				t.Errorf("%s differs between two runs", rel)
			}
			n++
			return nil
		})
		if n < 20 {
			t.Fatalf("compared only %d artifacts", n)
		}
	})

	t.Run("ingest counts match the publishers", func(t *testing.T) {
		var rep ingest.Report
		readJSON(t, filepath.Join(a, IngestReport), &rep)
		want := map[string]int64{ // rows of each interaction file, per SOURCE.md
			"movielens-latest-small/ratings.csv":           100836,
			"goodbooks-10k-ratings/ratings_random.csv":     298176,
			"lastfm-hetrec2011-2k/user_artists.dat":        92834,
			"douban-cross-domain/douban_book/ratings.dat":  96041,
			"douban-cross-domain/douban_music/ratings.dat": 69709,
		}
		for file, rows := range want {
			found := false
			for _, d := range rep.Domains {
				if f, ok := d.Files[file]; ok {
					found = true
					if f.Rows != rows || f.Emitted["interaction"] != rows || f.Malformed != 0 {
						t.Errorf("%s: rows %d emitted %v malformed %d, want %d clean rows", file, f.Rows, f.Emitted, f.Malformed, rows)
					}
				}
			}
			if !found {
				t.Errorf("%s not read", file)
			}
		}
	})

	t.Run("lineage chains and verifies", func(t *testing.T) {
		ing, err := artifact.Verify(filepath.Join(a, IngestInteractions))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(firstKey(ing.Inputs), "data/") || ing.Stage != "ingest" {
			t.Errorf("ingest lineage %+v", ing)
		}
		cl, err := artifact.Verify(filepath.Join(a, CleanInteractions))
		if err != nil {
			t.Fatal(err)
		}
		if cl.Inputs[IngestInteractions] != ing.ContentSHA256 {
			t.Errorf("clean records ingest hash %q, ingest content is %q", cl.Inputs[IngestInteractions], ing.ContentSHA256)
		}
		for _, p := range []string{NormInteractions, FeatureItems, AlignItems, SplitInteractions, TasksDir + "/train.arrow", TasksDir + "/test.arrow"} {
			if _, err := artifact.Verify(filepath.Join(a, p)); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("no held-out user in training artifacts", func(t *testing.T) {
		p, err := params.Load(filepath.Join(a, "params.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		assign := split.Assigner{Seed: p.Split.Seed, Train: p.Split.Train, Valid: p.Split.Valid}
		seenGroups := map[string]int{}
		for _, g := range tasks.Groups {
			eps, _, err := tasks.LoadEpisodes(filepath.Join(a, TasksDir, g+".arrow"))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range eps {
				want := g
				if g == tasks.Warm {
					want = split.Train
				}
				if got := assign.Group(e.User); got != want {
					t.Fatalf("%s.arrow holds %s, a %s user", g, e.User, got)
				}
				inSupport := map[int32]bool{}
				for _, s := range e.Support {
					inSupport[s.Item] = true
				}
				for _, q := range e.Query {
					if inSupport[q.Item] {
						t.Fatalf("%s %s/%s: item %d in support and query", g, e.Domain, e.User, q.Item)
					}
				}
				seenGroups[g]++
			}
		}
		for _, g := range tasks.Groups {
			if seenGroups[g] == 0 {
				t.Errorf("no %s tasks", g)
			}
		}
		// The scalers were fitted on exactly the training users' rows.
		scalers, _, err := artifact.ReadAll[schema.Scaler](filepath.Join(a, Scalers))
		if err != nil {
			t.Fatal(err)
		}
		trainRows := map[string]int64{}
		artifact.Scan(filepath.Join(a, NormInteractions), 8192, func(xs []schema.NormInteraction) error {
			for _, x := range xs {
				if assign.Group(x.User) == split.Train {
					trainRows[x.Domain]++
				}
			}
			return nil
		})
		for _, s := range scalers {
			if (s.Feature == schema.KindRating || s.Feature == schema.KindPlaycount) && s.N != trainRows[s.Domain] {
				t.Errorf("%s %s scaler fitted on %d rows, training users have %d", s.Domain, s.Feature, s.N, trainRows[s.Domain])
			}
		}
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}
