//go:build notebooks

package notebooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/crossrec/crossrec/lib/pipeline"
)

// inputs are what each notebook reads from the pipeline's outputs.
var inputs = map[string][]string{
	"01-eda.ipynb": {pipeline.EDAStats, pipeline.AlignCoverage, pipeline.AlignItems, pipeline.CleanInteractions},
	"02-results.ipynb": {pipeline.EvalMetrics, pipeline.EvalReport, pipeline.EvalCompare, pipeline.EvalColdCurve,
		pipeline.EvalCrossCurve, pipeline.EvalPredictions, pipeline.TasksDir + "/items.arrow"},
}

// TestNotebooks executes every notebook headless with run.sh (the GoNB
// kernel under nbconvert) against the artifacts of the pipeline at the
// repository root, and checks the executed copies: every code cell ran,
// none failed, and every cell tagged "plot" drew an image.
//
// It needs Jupyter (python3 -m pip install -r requirements.txt) and the
// pipeline's outputs (dvc repro), and fails, never skips, without them. It
// is behind the build tag notebooks because `go test ./...` runs before
// `dvc repro` in CI; run it after:
//
//	dvc repro && go test -tags notebooks -timeout 30m ./notebooks/
func TestNotebooks(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("jupyter"); err != nil {
		t.Fatal("jupyter is not installed: run `python3 -m pip install -r requirements.txt` in the repository")
	}
	if out, err := exec.Command("python3", "-c", "import nbconvert, nbclient").CombinedOutput(); err != nil {
		t.Fatalf("nbconvert/nbclient are not installed (%v: %s): run `python3 -m pip install -r requirements.txt` in the repository", err, out)
	}
	files := notebookFiles(t)
	for _, f := range files {
		need, ok := inputs[f]
		if !ok {
			t.Fatalf("%s: list what it reads in the inputs table of notebooks_test.go", f)
		}
		for _, in := range need {
			if _, err := os.Stat(filepath.Join(root, in)); err != nil {
				t.Fatalf("%s reads %s, which is missing: run `dvc repro` (or `go run ./dag/cmd/dag run`) in the repository first", f, in)
			}
		}
	}

	out := t.TempDir()
	cmd := exec.Command("bash", "run.sh", "--out", out)
	cmd.Env = append(os.Environ(), RootEnv+"="+root)
	output, err := cmd.CombinedOutput()
	t.Logf("notebooks/run.sh:\n%s", output)
	if err != nil {
		t.Fatalf("notebooks/run.sh: %v (a cell failed; the lines above show which)", err)
	}

	for _, f := range files {
		problems, figures := executedProblems(readNotebook(t, filepath.Join(out, f)))
		for _, p := range problems {
			t.Errorf("%s: %s", f, p)
		}
		t.Logf("%s: %d figures checked", f, figures)
	}
}
