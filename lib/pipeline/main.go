package pipeline

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Main is the whole of a stage program: it parses the common flags, finds
// the stage's declaration and runs it. Stage mains hold no logic of their
// own, so a notebook or the dag runner does exactly what the program does.
func Main(name string) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	root := fs.String("C", ".", "repository root: artifacts are read and written under it")
	paramsPath := fs.String("params", "", "params file (default: params.yaml under the root)")
	fs.Parse(os.Args[1:])
	env := Env{Root: *root, Params: *paramsPath}
	if env.Params == "" {
		env.Params = filepath.Join(env.Root, "params.yaml")
	}
	stages, err := Declarations(env.Root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
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
	fmt.Fprintf(os.Stderr, "%s: no such stage\n", name)
	os.Exit(2)
}
