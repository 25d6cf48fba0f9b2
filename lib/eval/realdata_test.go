package eval_test

import (
	"bytes"
	"github.com/crossrec/crossrec/lib/baselines"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/pipeline"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/testutil"
)

var (
	realOnce sync.Once
	realRoot string
	realErr  error
)

// realArtifacts runs the data stages (ingest to tasks) on the real datasets
// into a fresh root, once per test binary: the leakage checks must hold on
// the artifacts the pipeline really writes, and CI's fresh clone has none.
func realArtifacts(t *testing.T) string {
	t.Helper()
	repo := testutil.RepoRoot(t)
	dataRoot := testutil.DataRoot(t)
	realOnce.Do(func() {
		root, err := os.MkdirTemp("", "crossrec-eval-")
		if err != nil {
			realErr = err
			return
		}
		realRoot = root
		b, err := os.ReadFile(filepath.Join(repo, "params.yaml"))
		if err != nil {
			realErr = err
			return
		}
		var doc yaml.Node
		if realErr = yaml.Unmarshal(b, &doc); realErr != nil {
			return
		}
		setYAML(&doc, []string{"data", "root"}, dataRoot)
		// One evaluation seed keeps the stage runs of these tests short;
		// determinism does not depend on how many seeds there are.
		setYAML(&doc, []string{"evaluate", "seeds"}, []uint64{1})
		// Baselines only: these tests check the harness, not trained
		// models (CI's dvc repro --force checks the stage with them).
		setYAML(&doc, []string{"evaluate", "models"}, []string{})
		// The peers at one setting each (the grid search is the same code
		// at any grid size): the stage runs twice below.
		setYAML(&doc, []string{"evaluate", "peers"}, map[string]map[string][]float64{
			"ease": {"lambda": {250}}, "itemknn": {"k": {100}, "shrink": {10}},
			"rp3beta": {"alpha": {0.75}, "beta": {0.3}, "k": {100}}, "puresvd": {"factors": {64}},
			"mf_foldin": {"factors": {8}, "lambda": {3}}, "knn_baseline": {"k": {10}, "shrink": {100}, "alpha": {1}},
		})
		out, err := yaml.Marshal(&doc)
		if err != nil {
			realErr = err
			return
		}
		if realErr = os.WriteFile(filepath.Join(root, "params.yaml"), out, 0o644); realErr != nil {
			return
		}
		for _, f := range []string{pipeline.GenreMap, pipeline.GenreList} {
			b, err := os.ReadFile(filepath.Join(repo, f))
			if err != nil {
				realErr = err
				return
			}
			os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
			if realErr = os.WriteFile(filepath.Join(root, f), b, 0o644); realErr != nil {
				return
			}
		}
		stages, err := pipeline.Declarations(root)
		if err != nil {
			realErr = err
			return
		}
		env := pipeline.Env{Root: root, Params: filepath.Join(root, "params.yaml")}
		for _, s := range stages {
			switch s.Name {
			case "ingest", "clean", "normalize", "features", "align", "split", "tasks", "peers":
				if err := s.Run(env); err != nil {
					realErr = err
					return
				}
			}
		}
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realRoot
}

func TestMain(m *testing.M) {
	code := m.Run()
	if realRoot != "" {
		os.RemoveAll(realRoot)
	}
	os.Exit(code)
}

// setYAML replaces the value at path in a YAML document.
func setYAML(doc *yaml.Node, path []string, v any) {
	n := doc.Content[0]
	for _, key := range path {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				n = n.Content[i+1]
				break
			}
		}
	}
	var repl yaml.Node
	repl.Encode(v)
	*n = repl
}

func loadReal(t *testing.T) (*eval.Data, eval.Config) {
	root := realArtifacts(t)
	p, err := params.Load(filepath.Join(root, "params.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := eval.ConfigFrom(p)
	if err != nil {
		t.Fatal(err)
	}
	d, err := eval.Load(filepath.Join(root, pipeline.TasksDir), filepath.Join(root, pipeline.Scalers), cfg.CrossPairs)
	if err != nil {
		t.Fatal(err)
	}
	return d, cfg
}

func TestRealHeldOutUsersAreInNoFittedFile(t *testing.T) {
	d, _ := loadReal(t)
	fitted := map[string]bool{}
	for _, eps := range [][]tasks.Episode{d.Train, d.Valid} {
		for _, e := range eps {
			fitted[e.User] = true
		}
	}
	held := append([]tasks.Episode{}, d.Test...)
	for _, c := range d.Cross {
		held = append(held, c.Test...)
	}
	if len(held) < 1000 {
		t.Fatalf("only %d held-out episodes on the real data", len(held))
	}
	for _, e := range held {
		if fitted[e.User] {
			t.Fatalf("held-out user %q of %s is in train.arrow or valid.arrow, which the baselines fit and tune on", e.User, e.Domain)
		}
		if e.Group != "test" {
			t.Fatalf("user %q of %s in a test file has group %q", e.User, e.Domain, e.Group)
		}
	}
	// And the fit itself refuses anything that is not a meta-train task.
	catalogue := make([]int, len(d.Domains))
	for i, dom := range d.Domains {
		catalogue[i] = dom.Items
	}
	one := make([]float64, len(d.Domains))
	if _, err := eval.FitBaselines(d.Test, catalogue, eval.Shrinkage{ItemMean: one, ItemBias: one, UserBias: one}); err == nil {
		t.Error("the baselines fitted on test.arrow")
	}
}

func TestRealTrainingOracleIsNoBetterThanTheGlobalMean(t *testing.T) {
	d, cfg := loadReal(t)
	oracle := eval.NewOracle(d.Train)
	mu := make([]float64, len(d.Domains))
	for i := range mu {
		mu[i] = float64(oracle.Mean())
	}
	gm := &baselines.GlobalMean{Mu: mu}
	o, err := eval.ColdStart(d, cfg, oracle, cfg.Seeds[0], cfg.SupportK)
	if err != nil {
		t.Fatal(err)
	}
	g, err := eval.ColdStart(d, cfg, gm, cfg.Seeds[0], cfg.SupportK)
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2][]float64{"NDCG@10": {o.UserNDCG, g.UserNDCG}, "absolute error": {g.UserAE, o.UserAE}} {
		mean, se, n := eval.PairedMeanSE(pair[0], pair[1])
		if n < 1000 {
			t.Fatalf("%s: %d users", name, n)
		}
		// Improvement of the oracle over the global mean (positive = better).
		if mean > 2*se+1e-9 {
			t.Errorf("%s: the oracle of train.arrow beats the global mean on held-out users by %.5f (SE %.5f): leakage", name, mean, se)
		}
	}
}

func TestRealLabelsOnRandomItemsScoreChance(t *testing.T) {
	d, cfg := loadReal(t)
	// Move every held-out user's query labels onto random catalogue items
	// outside their support pool: no model can know those items, so a
	// strong baseline must fall to the chance level the harness reports.
	r := rand.New(rand.NewPCG(4, 2))
	test := make([]tasks.Episode, len(d.Test))
	for i, e := range d.Test {
		dom := d.Domains[e.DomainIndex]
		used := map[int32]bool{}
		for _, x := range e.Support {
			used[x.Item] = true
		}
		q := make([]tasks.Rated, len(e.Query))
		for j, x := range e.Query {
			it := int32(r.IntN(dom.Items))
			for used[it] {
				it = int32(r.IntN(dom.Items))
			}
			used[it] = true
			x.Item, x.Cold = it, dom.Cold[it]
			q[j] = x
		}
		e.Query = q
		test[i] = e
	}
	moved, err := eval.NewData(d.Items, d.Train, d.Valid, test, d.Warm, nil, realScalers(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Temporal = true // keep the pool fixed: the random items must stay out of it
	catalogue := make([]int, len(d.Domains))
	for i, dom := range d.Domains {
		catalogue[i] = dom.Items
	}
	s := make([]float64, len(d.Domains))
	for i := range s {
		s[i] = 25
	}
	b, err := eval.FitBaselines(d.Train, catalogue, eval.Shrinkage{ItemMean: s, ItemBias: s, UserBias: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []recommend.Scorer{b.Popularity, b.ItemMean} {
		res, err := eval.ColdStart(moved, cfg, sc, 1, cfg.SupportK)
		if err != nil {
			t.Fatal(err)
		}
		orig, err := eval.ColdStart(d, cfg, sc, 1, cfg.SupportK)
		if err != nil {
			t.Fatal(err)
		}
		for _, dom := range d.Domains {
			got, chance := res.Metrics[dom.Name]["ndcg@10"], res.Chance[dom.Name]["ndcg@10"]
			// Per-user NDCG@10 is 0 or at most 1: its standard error over
			// the users bounds how far from chance an honest harness lands.
			var xs []float64
			for i, e := range moved.Test {
				if e.Domain == dom.Name && !math.IsNaN(res.UserNDCG[i]) {
					xs = append(xs, res.UserNDCG[i])
				}
			}
			sp := eval.Spread(xs)
			se := sp.Std / math.Sqrt(float64(sp.N))
			if math.Abs(got-chance) > 3*se+1e-3 {
				t.Errorf("%s on %s with random labels: NDCG@10 %.4f vs chance %.4f (SE %.4f)", sc.Name(), dom.Name, got, chance, se)
			}
			if o := orig.Metrics[dom.Name]["ndcg@10"]; o < 5*chance {
				t.Errorf("%s on %s: real NDCG@10 %.4f is not clearly above chance %.4f, so this check shows nothing", sc.Name(), dom.Name, o, chance)
			}
		}
	}
}

func realScalers(t *testing.T) []schema.Scaler {
	t.Helper()
	rows, _, err := artifact.ReadAll[schema.Scaler](filepath.Join(realArtifacts(t), pipeline.Scalers))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestRealStageIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the peers and evaluate stages twice on the real data")
	}
	root := realArtifacts(t)
	stages, err := pipeline.Declarations(root)
	if err != nil {
		t.Fatal(err)
	}
	env := pipeline.Env{Root: root, Params: filepath.Join(root, "params.yaml")}
	// The peers stage first: evaluate reads its tuning, and refuses one
	// that is not its inputs' and params'.
	for _, name := range []string{"peers", "evaluate"} {
		var stage *pipeline.Stage
		for i := range stages {
			if stages[i].Name == name {
				stage = &stages[i]
			}
		}
		if stage == nil {
			t.Fatalf("no %s stage declared", name)
		}
		files := append(append([]string{}, stage.Outs...), stage.Metrics...)
		files = append(files, stage.Plots...)
		var first [][]byte
		for run := range 2 {
			if err := stage.Run(env); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for i, f := range files {
				b, err := os.ReadFile(filepath.Join(root, f))
				if err != nil {
					t.Fatal(err)
				}
				if run == 0 {
					first = append(first, b)
				} else if !bytes.Equal(first[i], b) {
					t.Errorf("%s differs between two runs of the %s stage", f, name)
				}
			}
		}
	}
	l, err := artifact.Verify(filepath.Join(root, pipeline.EvalPredictions))
	if err != nil {
		t.Fatal(err)
	}
	if l.Stage != "evaluate" || l.Inputs[pipeline.TasksDir+"/test.arrow"] == "" || l.Inputs[pipeline.Scalers] == "" {
		t.Errorf("predictions lineage: %+v", l)
	}
}
