// Package pipeline declares the stages of the pipeline: what each reads,
// writes and depends on in params.yaml, and the library call that runs it.
// The stage mains under stages/ and the dag package both read these
// declarations, so a stage's contract is written once, next to its code.
package pipeline

// Stage is one stage's contract. Paths are relative to the repository root,
// written as they appear in dvc.yaml.
type Stage struct {
	Name    string
	Deps    []string // files and folders read (inputs, code folders)
	Outs    []string // artifacts written (DVC-cached)
	Metrics []string // DVC metrics files written (not cached)
	Plots   []string // DVC plot data files written (not cached)
	Params  []string // params.yaml top-level sections read
	// Run executes the stage with the repository root as working folder.
	Run func(env Env) error
}

// Env is what a stage run gets: the repository root it reads and writes under
// and the params file.
type Env struct {
	Root   string // repository root; artifact paths resolve against it
	Params string // path of params.yaml
}
