package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/adapt"
	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/gnn"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/vae"
)

// Paths of the evaluate stage.
const (
	// EvalModelsDir is where the train stages export models; evaluate
	// scores whatever it finds there.
	EvalModelsDir = "artifacts/models"

	EvalPredictions = "artifacts/evaluate/predictions.parquet"
	EvalReport      = "artifacts/evaluate/report.json"
	EvalMetrics     = "metrics/evaluate.json"
	EvalStates      = "metrics/evaluate_states.json"
	EvalCross       = "metrics/evaluate_cross.json"
	EvalCompare     = "artifacts/evaluate/compare.json"
	EvalColdCurve   = "plots/evaluate/cold_start.csv"
	EvalCrossCurve  = "plots/evaluate/cross_domain.csv"
	// EvalCost holds fit and scoring times and memory: not a DVC output,
	// since they differ run to run.
	EvalCost = "metrics/evaluate_cost.json"
)

// evalSections are the params sections evaluate reads: the split fixes
// the support sizes the tasks were cut with, tasks the cross-domain pairs.
var evalSections = []string{"split", "tasks", "evaluate"}

// evaluateStage declares the evaluation. It depends on the whole tasks
// folder, the scalers, the peers' tuning (the peers stage) and the folder
// of every trained model params evaluate.models names (the train@<name>
// stages' outputs), so retraining a model reruns the evaluation, and not
// the peers' search.
func evaluateStage(trained []string) Stage {
	in := []string{TasksDir, Scalers, PeerTuning}
	for _, name := range trained {
		in = append(in, EvalModelsDir+"/"+name)
	}
	return Stage{
		Name: "evaluate",
		Deps: deps(in, code("evaluate", "eval", "adapt", "baselines", "metrics", "models", "meta", "vae", "gnn", "checkpoint", "backend", "fastgrad", "recommend", "tasks", "normalize", "split")),
		// The curve CSVs are plain outputs (cache: false in dvc.yaml), drawn
		// by the top-level plot definitions: declared as stage plots, DVC
		// would also draw each with its default template.
		Outs:    []string{EvalPredictions, EvalReport, EvalCompare, EvalColdCurve, EvalCrossCurve},
		Metrics: []string{EvalMetrics, EvalStates, EvalCross},
		Params:  evalSections,
		Run:     runEvaluate,
	}
}

// evalTaskFiles are the task files evaluate reads, for lineage.
func evalTaskFiles(p *params.Params) []string {
	files := []string{TasksDir + "/items.arrow"}
	for _, g := range []string{split.Train, split.Valid, split.Test, tasks.Warm} {
		files = append(files, TasksDir+"/"+g+".arrow")
	}
	for _, c := range p.Tasks.CrossDomain {
		files = append(files, TasksDir+"/cross_"+c.Source+"_to_"+c.Target+"_"+split.Test+".arrow")
	}
	return files
}

// evalStage opens a stage of lib/eval (peers, evaluate): the params, the
// evaluation's settings and the lineage over the params sections and the
// input files the stage reads.
func evalStage(env Env, stage string, sections []string, inputs func(*params.Params) []string) (*params.Params, eval.Config, artifact.Lineage, error) {
	p, err := env.Load()
	if err != nil {
		return nil, eval.Config{}, artifact.Lineage{}, err
	}
	cfg, err := eval.ConfigFrom(p)
	if err != nil {
		return nil, eval.Config{}, artifact.Lineage{}, err
	}
	l, err := env.Lineage(p, stage, sections, inputs(p)...)
	return p, cfg, l, err
}

func runEvaluate(env Env) error {
	p, cfg, l, err := evalStage(env, "evaluate", evalSections, func(p *params.Params) []string {
		return append(evalTaskFiles(p), Scalers, PeerTuning)
	})
	if err != nil {
		return err
	}
	peers, err := readPeerTuning(env, p, l.Inputs)
	if err != nil {
		return err
	}
	for _, dir := range []string{"artifacts/evaluate", "plots/evaluate", "metrics"} {
		if err := os.MkdirAll(env.Path(dir), 0o755); err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
	}
	// Trained models are scored only when params evaluate.models names
	// them: a model folder is an input like any other, so it is declared,
	// never picked up from whatever happens to lie in artifacts/models.
	var load eval.Loader
	modelsDir := ""
	if len(p.Evaluate.Models) > 0 {
		modelsDir = env.Path(EvalModelsDir)
		for _, name := range p.Evaluate.Models {
			if st, err := os.Stat(filepath.Join(modelsDir, name)); err != nil || !st.IsDir() {
				return fmt.Errorf("params evaluate.models names %q, and %s/%s holds no trained model (run train@%s)", name, EvalModelsDir, name, name)
			}
		}
		load = func(dir string, items *tasks.ItemTable) (recommend.Scorer, error) {
			name := filepath.Base(dir)
			if strings.HasPrefix(name, "seed-") {
				name = filepath.Base(filepath.Dir(dir))
			}
			if !slices.Contains(p.Evaluate.Models, name) {
				return nil, fmt.Errorf("%s: not listed in params evaluate.models", name)
			}
			switch models.ArchOf(dir) {
			case vae.Arch:
				return vae.Load(dir, items)
			case gnn.Arch:
				return gnn.Load(dir, items)
			}
			// lib/models' exports are scored with the adaptation in plain
			// Go (lib/adapt): the same scores as models.Load's graph to
			// float32 rounding, without a graph dispatch per user.
			return adapt.Load(dir, items)
		}
	}
	return eval.Run(eval.Paths{
		TasksDir: env.Path(TasksDir), Scalers: env.Path(Scalers), ModelsDir: modelsDir,
		Metrics: env.Path(EvalMetrics), States: env.Path(EvalStates), Cross: env.Path(EvalCross), Compare: env.Path(EvalCompare),
		Report: env.Path(EvalReport), Predictions: env.Path(EvalPredictions),
		ColdCurve: env.Path(EvalColdCurve), CrossCurve: env.Path(EvalCrossCurve), Cost: env.Path(EvalCost),
	}, cfg, eval.Options{Load: load, Lineage: l, Log: os.Stderr, Variants: ablations, Peers: peers, RelDir: func(abs string) string {
		if r, err := filepath.Rel(env.Root, abs); err == nil {
			return filepath.ToSlash(r)
		}
		return abs
	}})
}

// ablations are a trained model's variants without a part: its own when
// it defines them (lib/vae, lib/adapt), lib/models' otherwise.
func ablations(sc recommend.Scorer) ([]recommend.Scorer, error) {
	if a, ok := sc.(interface {
		Ablations() ([]recommend.Scorer, error)
	}); ok {
		return a.Ablations()
	}
	return models.Ablations(sc)
}
