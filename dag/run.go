package dag

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/pipeline"
)

// LockFile is where Run records what each stage last ran on, relative to
// the repository root. It lives under artifacts/ (git-ignored) because it
// describes this checkout's artifacts, not the code.
const LockFile = "artifacts/.dag.lock.json"

// lockVersion is bumped whenever the hashing rules change, so a lock from an
// older dag never makes a stage look up to date.
const lockVersion = 1

// Lock is the content of LockFile. encoding/json writes map keys sorted,
// so the file is deterministic.
type Lock struct {
	Version int                   `json:"version"`
	Stages  map[string]*LockEntry `json:"stages"`
}

// LockEntry is what one stage last ran successfully on: the hex sha256 of
// each dep path, of each params.yaml section it reads, and of each output
// (outs, metrics and plots) it wrote.
type LockEntry struct {
	Deps   map[string]string `json:"deps"`
	Params map[string]string `json:"params"`
	Outs   map[string]string `json:"outs"`
}

// Run runs the stages needed for targets (all when none) in plan order,
// in-process, calling each declaration's Run. Like `dvc repro` it skips a
// stage whose deps, params sections and outputs are all as recorded in
// LockFile, deletes a stage's non-persist outputs before running it, and
// never runs a frozen stage. dvc.yaml is read from env.Root and validated
// against declared first; nothing runs if it is invalid.
//
// Stages run with env as given (Params defaulting to params.yaml under
// Root) and must resolve their paths against env.Root: the process working
// folder is not changed, since it is shared by every goroutine.
//
// It returns the names of the stages that ran to completion, in order. A
// failing stage (error or panic) stops the run with its name in the error
// and loses its lock entry, so the next Run retries it.
func Run(env pipeline.Env, declared []pipeline.Stage, targets ...string) ([]string, error) {
	if env.Params == "" {
		env.Params = filepath.Join(env.Root, ParamsFile)
	}
	f, err := Load(env.Root)
	if err != nil {
		return nil, err
	}
	if err := Validate(env.Root, f, declared); err != nil {
		return nil, err
	}
	g, err := NewGraph(f)
	if err != nil {
		return nil, err
	}
	plan, err := g.Plan(targets...)
	if err != nil {
		return nil, err
	}
	decl := map[string]pipeline.Stage{}
	for _, d := range declared {
		decl[d.Name] = d
	}
	lockPath := filepath.Join(env.Root, filepath.FromSlash(LockFile))
	lock, err := readLock(lockPath)
	if err != nil {
		return nil, err
	}
	params, paramsErr := readYAMLMap(env.Params)
	r := &runner{env: env, lockPath: lockPath, lock: lock, params: params, paramsErr: paramsErr}
	var ran []string
	for _, s := range plan {
		if s.Frozen {
			continue
		}
		did, err := r.stage(s, decl[s.Name])
		if err != nil {
			return ran, fmt.Errorf("stage %q: %w", s.Name, err)
		}
		if did {
			ran = append(ran, s.Name)
		}
	}
	return ran, nil
}

type runner struct {
	env       pipeline.Env
	lockPath  string
	lock      *Lock
	params    map[string]any
	paramsErr error
}

// stage runs one stage unless it is up to date, and reports whether it ran.
func (r *runner) stage(s *StageDef, d pipeline.Stage) (bool, error) {
	cur, err := r.inputs(s)
	if err != nil {
		return false, err
	}
	if !s.AlwaysChanged && r.upToDate(s, cur) {
		return false, nil
	}
	// Forget the old record before touching anything: if the process dies
	// mid-stage, the next Run must not trust the half-written outputs.
	delete(r.lock.Stages, s.Name)
	if err := writeLock(r.lockPath, r.lock); err != nil {
		return false, err
	}
	for _, l := range [][]Output{s.Outs, s.Metrics, s.Plots} {
		for _, o := range l {
			if o.Persist {
				continue
			}
			if err := os.RemoveAll(abs(r.env.Root, o.Path)); err != nil {
				return false, fmt.Errorf("removing old output: %w", err)
			}
		}
	}
	if err := call(d, r.env); err != nil {
		return false, err
	}
	cur.Outs = map[string]string{}
	for _, o := range s.Outputs() {
		h, err := hashPath(abs(r.env.Root, o), r.lockPath)
		if errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("output %q was not written", o)
		}
		if err != nil {
			return false, fmt.Errorf("hashing output: %w", err)
		}
		cur.Outs[o] = h
	}
	r.lock.Stages[s.Name] = cur
	return true, writeLock(r.lockPath, r.lock)
}

// call runs a stage's Run, turning a panic into an error: the runner is
// the boundary where a crashing stage must still leave a consistent lock.
func call(d pipeline.Stage, env pipeline.Env) (err error) {
	if d.Run == nil {
		return errors.New("the declaration has no Run func")
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return d.Run(env)
}

// inputs hashes what a stage reads now: its deps and params sections.
func (r *runner) inputs(s *StageDef) (*LockEntry, error) {
	e := &LockEntry{Deps: map[string]string{}, Params: map[string]string{}}
	for _, d := range s.Deps {
		h, err := hashPath(abs(r.env.Root, d), r.lockPath)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("deps: %q is missing", d)
		}
		if err != nil {
			return nil, fmt.Errorf("deps: %w", err)
		}
		e.Deps[d] = h
	}
	for _, p := range s.Params {
		if r.paramsErr != nil {
			return nil, fmt.Errorf("params: %w", r.paramsErr)
		}
		secs := []string{sectionOf(p.Key)}
		if p.Key == "" {
			secs = slices.Collect(maps.Keys(r.params))
		}
		for _, sec := range secs {
			v, ok := r.params[sec]
			if !ok {
				return nil, fmt.Errorf("params: %s has no section %q", r.env.Params, sec)
			}
			h, err := hashSection(v)
			if err != nil {
				return nil, fmt.Errorf("params: %s: %w", sec, err)
			}
			e.Params[sec] = h
		}
	}
	return e, nil
}

// upToDate reports whether the recorded run used the same deps and params
// and every output is still there, unchanged. Comparing whole maps also
// catches a dep, section or output added to or dropped from the stage.
func (r *runner) upToDate(s *StageDef, cur *LockEntry) bool {
	old := r.lock.Stages[s.Name]
	if old == nil || !maps.Equal(old.Deps, cur.Deps) || !maps.Equal(old.Params, cur.Params) {
		return false
	}
	outs := s.Outputs()
	if len(outs) != len(old.Outs) {
		return false
	}
	for _, o := range outs {
		h, err := hashPath(abs(r.env.Root, o), r.lockPath)
		if err != nil || h != old.Outs[o] {
			return false
		}
	}
	return true
}

// readLock reads the lock; a missing one is empty, a damaged or outdated
// one is an error telling the user how to recover, rather than a silent
// full re-run.
func readLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Lock{Version: lockVersion, Stages: map[string]*LockEntry{}}, nil
	}
	if err != nil {
		return nil, err
	}
	l := &Lock{}
	if err := json.Unmarshal(data, l); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to rebuild every stage)", path, err)
	}
	if l.Version != lockVersion {
		return nil, fmt.Errorf("%s: version %d, want %d (delete it to rebuild every stage)", path, l.Version, lockVersion)
	}
	if l.Stages == nil {
		l.Stages = map[string]*LockEntry{}
	}
	return l, nil
}

// writeLock writes the lock atomically, so an interrupted run leaves the
// previous lock or the new one, never a torn file.
func writeLock(path string, l *Lock) error {
	return artifact.WriteJSON(path, l)
}
