package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/crossrec/crossrec/lib/params"
)

// Declarations returns every stage's contract for the repository at root.
// The ingest stage's input folder is data.root from root/params.yaml, the
// same value dvc.yaml interpolates, so moving the data keeps the two in step.
func Declarations(root string) ([]Stage, error) {
	dataRoot := "../shared/datasets"
	var evalModels []string
	if _, err := os.Stat(filepath.Join(root, "params.yaml")); err == nil {
		p, err := params.Load(filepath.Join(root, "params.yaml"))
		if err != nil {
			return nil, err
		}
		dataRoot = p.Data.Root
		evalModels = p.Evaluate.Models
	}
	out := []Stage{
		ingestStage(dataRoot),
		cleanStage(),
		normalizeStage(),
		featuresStage(),
		alignStage(),
		edaStage(),
		splitStage(),
		tasksStage(),
	}
	out = append(out, trainStages(root)...)
	return append(out, peersStage(), evaluateStage(evalModels)), nil
}

// All is Declarations for the current folder; it panics on a broken
// params.yaml because callers (dag's command) have nothing better to do.
func All() []Stage {
	s, err := Declarations(".")
	if err != nil {
		panic(fmt.Sprintf("pipeline: %v", err))
	}
	return s
}

// code lists the code folders a stage depends on: its own program, its
// libraries and the common ones.
func code(stage string, libs ...string) []string {
	out := []string{"stages/" + stage}
	for _, l := range libs {
		out = append(out, "lib/"+l)
	}
	return append(out, commonCode...)
}

func deps(inputs []string, code []string) []string {
	return append(append([]string{}, inputs...), code...)
}
