package dag

import (
	"testing"

	"github.com/crossrec/crossrec/lib/pipeline"
	"github.com/crossrec/crossrec/lib/testutil"
)

// TestRepositoryDVCYAML checks the project's own dvc.yaml against the stage
// declarations, so a renamed artifact or a forgotten params section fails
// `go test`, not a later `dvc repro`.
func TestRepositoryDVCYAML(t *testing.T) {
	root := testutil.RepoRoot(t)
	f, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	decl, err := pipeline.Declarations(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(root, f, decl); err != nil {
		t.Fatal(err)
	}
	g, err := NewGraph(f)
	if err != nil {
		t.Fatal(err)
	}
	order := map[string]int{}
	for i, s := range g.Order() {
		order[s.Name] = i
	}
	for _, edge := range [][2]string{{"ingest", "clean"}, {"clean", "normalize"}, {"normalize", "features"}, {"features", "align"}, {"align", "tasks"}, {"split", "tasks"}, {"align", "eda"}} {
		if order[edge[0]] >= order[edge[1]] {
			t.Errorf("%s must run before %s; order %v", edge[0], edge[1], order)
		}
	}
}
