// Command train runs one train stage of the pipeline, train@<model>, for
// the entry -model of train.models in params.yaml (dvc.yaml runs one per
// entry); its contract (inputs, outputs, params) is declared in
// lib/pipeline.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/crossrec/crossrec/lib/pipeline"
)

func main() {
	root := flag.String("C", ".", "repository root: artifacts are read and written under it")
	paramsPath := flag.String("params", "", "params file (default: params.yaml under the root)")
	model := flag.String("model", "", "entry of train.models to train (required)")
	flag.Parse()
	if *model == "" {
		fmt.Fprintln(os.Stderr, "train: -model is required (an entry of train.models)")
		os.Exit(2)
	}
	env := pipeline.Env{Root: *root, Params: *paramsPath}
	if env.Params == "" {
		env.Params = filepath.Join(env.Root, "params.yaml")
	}
	stages, err := pipeline.Declarations(env.Root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "train: %v\n", err)
		os.Exit(1)
	}
	name := "train@" + *model
	for _, s := range stages {
		if s.Name == name {
			start := time.Now()
			if err := s.Run(env); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "%s: done in %.1fs\n", name, time.Since(start).Seconds())
			return
		}
	}
	fmt.Fprintf(os.Stderr, "train: no stage %s (is %q in train.models?)\n", name, *model)
	os.Exit(2)
}
