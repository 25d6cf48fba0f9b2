package pipeline

import (
	"encoding/csv"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/backend"
	"github.com/crossrec/crossrec/lib/baselines"
	"github.com/crossrec/crossrec/lib/fastgrad"
	"github.com/crossrec/crossrec/lib/gnn"
	"github.com/crossrec/crossrec/lib/meta"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/vae"
)

// Paths of the train stages.
const (
	ModelsDir      = "artifacts/models"
	CheckpointsDir = "artifacts/checkpoints" // resumable state; not a DVC output
	TrainPlotsDir  = "plots/train"
	TrainMetrics   = "metrics/train"
)

// Task files the train stages read (inside TasksDir, the tasks stage's
// output folder, which is what dvc.yaml lists as the dependency).
var trainInputs = []string{TasksDir + "/train.arrow", TasksDir + "/valid.arrow", TasksDir + "/items.arrow"}

// trainStages declares one stage per entry of train.models, named as DVC
// names the members of `foreach: ${train.models}`: train@<name>.
func trainStages(root string) []Stage {
	p, err := params.Load(filepath.Join(root, "params.yaml"))
	if err != nil {
		return nil
	}
	names := slices.Sorted(maps.Keys(p.Train.Models))
	out := make([]Stage, 0, len(names))
	for _, name := range names {
		out = append(out, Stage{
			Name:    "train@" + name,
			Deps:    trainDeps(),
			Outs:    []string{ModelsDir + "/" + name},
			Metrics: []string{TrainMetrics + "/" + name + ".json"},
			Plots:   []string{TrainPlotsDir + "/" + name + ".csv"},
			Params:  []string{"split", "train"},
			Run:     func(env Env) error { return runTrain(env, name) },
		})
	}
	return out
}

// trainPipelineFiles are the files of lib/pipeline a train stage runs
// through: the stage table and its plumbing, and the train stages' own.
// The other stages' files, evaluate.go above all, are not listed, so that a
// change to how models are scored does not retrain them (Declarations only
// builds the other stages' contracts; it runs none of them).
var trainPipelineFiles = []string{"lib/pipeline/env.go", "lib/pipeline/paths.go", "lib/pipeline/spec.go",
	"lib/pipeline/stages.go", "lib/pipeline/train.go", "lib/pipeline/train_arch.go"}

// trainDeps are a train stage's dependencies: the task files and the
// packages training runs through (TestCodeDepsAreClosedUnderImports holds
// the list to their imports). lib/pipeline also links the evaluate stage's
// lib/eval and lib/normalize, which training never calls.
func trainDeps() []string {
	var out []string
	for _, d := range deps([]string{TasksDir}, code("train", "models", "meta", "vae", "gnn", "checkpoint", "baselines", "backend", "fastgrad", "tasks", "recommend", "metrics", "split")) {
		if d == "lib/pipeline" {
			out = append(out, trainPipelineFiles...)
			continue
		}
		out = append(out, d)
	}
	return out
}

// TrainOptions turns train params into one run's options.
func TrainOptions(t params.Train, run params.TrainRun, seed uint64, supportK int) meta.Options {
	m := t.Model
	cfg := models.Config{Arch: run.Arch, ItemDim: m.ItemDim, UserDim: m.UserDim, Hidden: m.Hidden, Encoder: m.Encoder,
		Adapt: m.Adapt, InnerSteps: m.InnerSteps, InnerLR: m.InnerLR, LearnInnerLR: m.LearnInnerLR, L2: m.L2,
		Rank: m.Rank, RankWeight: m.RankWeight}
	if run.InnerSteps > 0 {
		cfg.InnerSteps = run.InnerSteps
	}
	if run.InnerLR > 0 {
		cfg.InnerLR = run.InnerLR
	}
	step := meta.StepConfig{Method: run.Method, FirstOrder: run.FirstOrder, InnerSteps: cfg.InnerSteps, OuterLR: t.OuterLR, Clip: t.Clip,
		OuterLoss: t.OuterLoss}
	if run.OuterLR > 0 {
		step.OuterLR = run.OuterLR
	}
	if run.Method == meta.Joint {
		// Plain training has nothing to meta-learn about the step size.
		cfg.LearnInnerLR = false
	}
	steps := t.Steps
	if run.Steps > 0 {
		steps = run.Steps
	}
	return meta.Options{Model: cfg, Step: step, Seed: seed, Steps: steps, MetaBatch: t.MetaBatch, SupportK: supportK,
		QueryMax: t.QueryMax, ExcludeDomain: run.ExcludeDomain, EvalEvery: t.EvalEvery, EvalTasks: t.EvalTasks,
		EvalQuery: 100, KeepBest: t.KeepBest, CheckpointEvery: t.CheckpointEvery, Negatives: t.Negatives,
		SupportKs: t.SupportKs, CooccurGrid: m.CooccurGrid}
}

// trainBackend starts the GoMLX backend train.backend names, with the
// faster DotGeneral gradient registered.
func trainBackend(p *params.Params, stage string) (*backend.Selection, error) {
	if err := fastgrad.Register(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", stage, err)
	}
	sel, err := backend.Select(p.Train.Backend)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s: backend %s (%s)\n", stage, sel.Config, sel.Reason)
	return sel, nil
}

// runTrain trains one model for every seed and exports it.
func runTrain(env Env, name string) error {
	p, err := env.Load()
	if err != nil {
		return err
	}
	run, ok := p.Train.Models[name]
	if !ok {
		return fmt.Errorf("train.models has no entry %q", name)
	}
	if len(p.Train.Seeds) == 0 {
		return fmt.Errorf("train.seeds: none")
	}
	stage := "train@" + name
	inputs := trainInputs
	var crossValid []string
	if run.Arch == gnn.Arch {
		// LightGCN tunes its fold-in's source weight on the cross-domain
		// validation users (lib/gnn prior.go); the file names come from
		// the task folder, the stage's dependency.
		if crossValid, err = filepath.Glob(env.Path(TasksDir + "/cross_*_" + split.Valid + ".arrow")); err != nil {
			return err
		}
		for i, f := range crossValid {
			crossValid[i] = TasksDir + "/" + filepath.Base(f)
		}
		inputs = slices.Concat(trainInputs, crossValid)
	}
	l, err := env.Lineage(p, stage, []string{"split", "train"}, inputs...)
	if err != nil {
		return err
	}
	items, _, err := tasks.LoadItems(env.Path(trainInputs[2]))
	if err != nil {
		return err
	}
	train, _, err := tasks.LoadEpisodes(env.Path(trainInputs[0]))
	if err != nil {
		return err
	}
	valid, _, err := tasks.LoadEpisodes(env.Path(trainInputs[1]))
	if err != nil {
		return err
	}
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		return err
	}
	switch run.Arch {
	case vae.Arch:
		return runTrainVAE(env, p, name, l, items, train, valid)
	case gnn.Arch:
		var cross []tasks.Episode
		for _, f := range crossValid {
			eps, _, err := tasks.LoadEpisodes(env.Path(f))
			if err != nil {
				return err
			}
			cross = append(cross, eps...)
		}
		return runTrainGNN(env, p, name, l, items, train, valid, cross)
	}
	if run.ExcludeDomain != "" && !slices.Contains(cat.Domains, run.ExcludeDomain) {
		return fmt.Errorf("train.models.%s.exclude_domain: no domain %q", name, run.ExcludeDomain)
	}
	// The biases start at the evaluation's user-bias baseline, tuned on
	// the meta-validation users as the evaluation tunes it.
	catalogue := slices.Clone(cat.Items)
	ub, _, err := baselines.TuneUserBias(meta.FilterDomain(train, run.ExcludeDomain), meta.FilterDomain(valid, run.ExcludeDomain), catalogue, p.Train.BiasGrid, p.Split.SupportK)
	if err != nil {
		return fmt.Errorf("%s: bias init: %w", stage, err)
	}
	biases := &meta.BiasInit{Mu: ub.Mu, Bi: ub.Bi, LambdaU: ub.LambdaU}
	sel, err := trainBackend(p, stage)
	if err != nil {
		return err
	}
	tmp := env.Path(ModelsDir + "/." + name + ".tmp")
	os.RemoveAll(tmp)
	defer os.RemoveAll(tmp)
	tag := checkpointTag(l)
	// A checkpoint resumes only the build that wrote it: options and inputs
	// alone would let a changed model or trainer resume (and export) the
	// old code's weights.
	build, err := executableDigest()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: checkpoints off (%v): every seed trains from the start\n", stage, err)
	}
	tag += build
	summary := map[string]any{"model": name, "method": run.Method, "arch": run.Arch}
	perSeed := map[string]any{}
	var rows [][]string
	var maes []float64
	for _, seed := range p.Train.Seeds {
		o := TrainOptions(p.Train, run, seed, p.Split.SupportK)
		o.Biases = biases
		if build != "" {
			o.CheckpointDir = env.Path(fmt.Sprintf("%s/%s/%s%d", CheckpointsDir, name, models.SeedPrefix, seed))
		}
		o.Tag = tag
		o.Progress = os.Stderr
		fmt.Fprintf(os.Stderr, "%s: seed %d, %d steps\n", stage, seed, o.Steps)
		res, err := meta.Train(sel.Backend, cat, train, valid, o)
		if err != nil {
			return fmt.Errorf("%s seed %d: %w", stage, seed, err)
		}
		fmt.Fprintf(os.Stderr, "%s: seed %d trained in %.1fs (median %.1f ms per step)\n", stage, seed, res.Seconds, res.StepSecs*1000)
		h := models.Header{Name: name, Config: res.Model, Training: map[string]any{
			"method": run.Method, "first_order": run.FirstOrder, "seed": seed, "steps": o.Steps, "exported_step": res.BestStep,
			"meta_batch": o.MetaBatch, "query_max": o.QueryMax, "outer_lr": o.Step.OuterLR, "exclude_domain": run.ExcludeDomain,
		}}
		h.Config.Shape = cat.Shape()
		dir := filepath.Join(tmp, fmt.Sprintf("%s%d", models.SeedPrefix, seed))
		if err := models.Save(dir, h, res.Weights, l); err != nil {
			return err
		}
		last := res.Curve[len(res.Curve)-1]
		best := last
		for _, c := range res.Curve {
			if c.Step == res.BestStep {
				best = c
			}
		}
		perSeed[strconv.FormatUint(seed, 10)] = map[string]any{"exported_step": res.BestStep, "valid_mae": round(best.ValidMAE), "valid_mse": round(best.ValidMSE), "valid_rel_mae": round(best.ValidRel)}
		maes = append(maes, best.ValidMAE)
		for _, c := range res.Curve {
			rows = append(rows, []string{strconv.FormatUint(seed, 10), strconv.Itoa(c.Step), num(c.TrainLoss), num(c.ValidMSE), num(c.ValidRel), num(c.ValidMAE)})
		}
	}
	summary["seeds"] = perSeed
	summary["valid_mae_mean"] = round(mean(maes))
	out := env.Path(ModelsDir + "/" + name)
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	if err := writeCurve(env.Path(TrainPlotsDir+"/"+name+".csv"), curveHeader, rows); err != nil {
		return err
	}
	return artifact.WriteJSON(env.Path(TrainMetrics+"/"+name+".json"), summary)
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func num(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'f', 6, 64)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

// writeCurve writes the training curves, one row per seed and point.
// curveHeader is the meta-learners' curve. The column `dvc plots show`
// draws is the last one (dvc.yaml names only x, because the Mult-VAE's
// curve ends with its own validation metric).
var curveHeader = []string{"seed", "step", "train_loss", "valid_mse", "valid_rel_mae", "valid_mae"}

// writeCurve writes a training curve as CSV (atomically).
func writeCurve(path string, header []string, rows [][]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".curve-*")
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(header)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// checkpointTag is what a run's checkpoints are keyed on besides its own
// options, which each trainer fingerprints (leaving out the run's length,
// so a longer run resumes a shorter one): the hashes of the task files.
// The params hash is left out on purpose: it covers train.steps and the
// epochs, and the options already carry every other training setting. (It
// was in, but hashed nothing until params.Hash was fixed, so checkpoints
// have always been keyed this way.)
func checkpointTag(l artifact.Lineage) string {
	tag := ""
	for _, in := range trainInputs {
		tag += l.Inputs[in]
	}
	return tag
}

// executableDigest is the SHA-256 of the running program's file: it
// changes with any change to the code compiled into it.
func executableDigest() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", err
	}
	return artifact.FileSHA256(path)
}
