// Command dag checks and runs the pipeline in dvc.yaml without DVC.
//
//	dag [-C root] validate           check dvc.yaml against the stage programs
//	dag [-C root] plan [targets]     print the stages targets need, in run order
//	dag [-C root] run [targets]      run them in-process, skipping unchanged stages
//
// Targets are stage names ("split", "train@maml") or foreach/matrix group
// names ("train"); none means the whole pipeline. validate is what CI runs:
// it exits 1 listing every mismatch at once.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/crossrec/crossrec/dag"
	"github.com/crossrec/crossrec/lib/pipeline"
)

func main() {
	os.Exit(run(os.Args[1:], pipeline.Declarations, os.Stdout, os.Stderr))
}

// run is main with its dependencies passed in, so tests can drive it with
// their own stage declarations and capture its output. declarations gets
// the -C root, not the working folder, because the declared paths depend
// on that repository's params.yaml (data.root).
func run(args []string, declarations func(root string) ([]pipeline.Stage, error), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dag", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("C", ".", "repository root (where dvc.yaml is)")
	params := fs.String("params", "", "params file given to stages (default: params.yaml under the root)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dag [-C root] [-params file] validate | plan [targets] | run [targets]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cmd, targets := fs.Arg(0), fs.Args()[1:]
	var err error
	switch cmd {
	case "validate":
		if len(targets) > 0 {
			fs.Usage()
			return 2
		}
		err = validate(*root, declarations)
		if err == nil {
			fmt.Fprintln(stdout, "dvc.yaml is consistent with the stage programs")
		}
	case "plan":
		err = plan(*root, targets, stdout)
	case "run":
		var stages []pipeline.Stage
		if stages, err = declarations(*root); err != nil {
			break
		}
		var ran []string
		ran, err = dag.Run(pipeline.Env{Root: *root, Params: *params}, stages, targets...)
		for _, s := range ran {
			fmt.Fprintln(stdout, "ran", s)
		}
		if err == nil && len(ran) == 0 {
			fmt.Fprintln(stdout, "everything is up to date")
		}
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, indentJoined(err))
		return 1
	}
	return 0
}

func validate(root string, declarations func(string) ([]pipeline.Stage, error)) error {
	stages, err := declarations(root)
	if err != nil {
		return err
	}
	f, err := dag.Load(root)
	if err != nil {
		return err
	}
	return dag.Validate(root, f, stages)
}

// plan needs only dvc.yaml, not the declarations, so it works on a graph
// whose programs are still being written.
func plan(root string, targets []string, w io.Writer) error {
	f, err := dag.Load(root)
	if err != nil {
		return err
	}
	g, err := dag.NewGraph(f)
	if err != nil {
		return err
	}
	stages, err := g.Plan(targets...)
	if err != nil {
		return err
	}
	for _, s := range stages {
		fmt.Fprintln(w, s.Name)
	}
	return nil
}

// indentJoined prints a joined error one problem per line, with a count,
// so a long validation report stays readable.
func indentJoined(err error) string {
	var j interface{ Unwrap() []error }
	if !errors.As(err, &j) || len(j.Unwrap()) < 2 {
		return "dag: " + err.Error()
	}
	errs := j.Unwrap()
	var b strings.Builder
	fmt.Fprintf(&b, "dag: %d problems:", len(errs))
	for _, e := range errs {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}
