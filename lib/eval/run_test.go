package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// fakeModel stands in for a trained model: item quality learnt from the
// training data plus the support's mean, a different function per seed.
type fakeModel struct {
	name string
	base []float32
	off  float32
}

func (f *fakeModel) Name() string { return f.name }
func (f *fakeModel) Score(_ int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	var m float32
	for _, x := range support {
		m += x.Norm - 0.5
	}
	if len(support) > 0 {
		m /= float32(len(support))
	}
	out := make([]float32, len(cands))
	for i, c := range cands {
		out[i] = f.base[c] + m*0.5 + f.off
	}
	return out, nil
}

func fakeLoader(base []float32) Loader {
	return func(dir string, _ *tasks.ItemTable) (recommend.Scorer, error) {
		if strings.Contains(dir, "broken") {
			return nil, errors.New(dir + ": no exported model")
		}
		off := float32(0)
		if strings.HasSuffix(dir, "seed-2") {
			off = 0.01
		}
		if strings.Contains(dir, "lodo") {
			return &fakeModel{name: filepath.Base(dir), base: make([]float32, len(base)), off: 0.5}, nil
		}
		return &fakeModel{name: filepath.Base(dir), base: base, off: off}, nil
	}
}

func outPaths(dir string) Paths {
	return Paths{ModelsDir: filepath.Join(dir, "models"),
		Metrics: filepath.Join(dir, "evaluate.json"), States: filepath.Join(dir, "states.json"), Cross: filepath.Join(dir, "cross.json"),
		Compare: filepath.Join(dir, "compare.json"), Report: filepath.Join(dir, "report.json"), Predictions: filepath.Join(dir, "predictions.parquet"),
		ColdCurve: filepath.Join(dir, "cold.csv"), CrossCurve: filepath.Join(dir, "cross.csv")}
}

// runWorld evaluates the synthetic world with three fake trained models
// (one per seed folder, one leave-one-domain-out, one that fails to load).
func runWorld(t *testing.T, dir string) (*Data, Config) {
	t.Helper()
	return runWorldWith(t, dir, nil)
}

// runWorldWith is runWorld with the configuration changed by edit first.
func runWorldWith(t *testing.T, dir string, edit func(*Config)) (*Data, Config) {
	t.Helper()
	w := newWorld(250)
	d := w.data(t, 150, 60)
	// A cross-domain set: the held-out users with a source history (the
	// same domain stands in for the source).
	var cross []tasks.Episode
	for i, e := range d.Test[:20] {
		c := e
		c.Source = d.Train[i].Query
		cross = append(cross, c)
	}
	d.Cross = []CrossSet{{Name: "d_to_d", Pair: params.CrossPair{Source: "d", Target: "d"}, Test: cross}}
	cfg := w.cfg
	cfg.LODODomains = []string{"d"}
	if edit != nil {
		edit(&cfg)
	}
	models := filepath.Join(dir, "models")
	for _, m := range []string{"mymodel", "mymodel-lodo-d", "persed/seed-1", "persed/seed-2", "broken"} {
		if err := os.MkdirAll(filepath.Join(models, m), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base := make([]float32, w.items)
	for i := range base {
		base[i] = float32(w.quality[i]) / 4
	}
	opt := Options{Load: fakeLoader(base), Lineage: artifact.Lineage{Stage: "evaluate"}, RelDir: func(p string) string { r, _ := filepath.Rel(dir, p); return r }}
	if err := RunData(d, outPaths(dir), cfg, opt); err != nil {
		t.Fatal(err)
	}
	return d, cfg
}

func TestRunIsDeterministicAndComplete(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	d, cfg := runWorld(t, a)
	runWorld(t, b)
	for _, f := range []string{"evaluate.json", "states.json", "cross.json", "compare.json", "report.json", "predictions.parquet", "cold.csv", "cross.csv"} {
		x, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		y, _ := os.ReadFile(filepath.Join(b, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", f)
		}
	}

	var head map[string]map[string]map[string]float64
	raw, _ := os.ReadFile(filepath.Join(a, "evaluate.json"))
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	if _, ok := top["domain_generalisation"]; !ok {
		t.Fatal("no domain_generalisation entry")
	}
	head = map[string]map[string]map[string]float64{}
	var dm map[string]map[string]float64
	if err := json.Unmarshal(top["d"], &dm); err != nil {
		t.Fatal(err)
	}
	head["d"] = dm
	models := slices.Sorted(func(yield func(string) bool) {
		for m := range head["d"] {
			if !yield(m) {
				return
			}
		}
	})
	if want := []string{"chance", "global-mean", "item-mean", "mymodel", "persed", "popularity", "user-bias"}; !slices.Equal(models, want) {
		t.Errorf("models %v, want %v (broken is left out, lodo models only feed the generalisation score)", models, want)
	}
	want := []string{"mae", "mse", "rmse", "gini@10", "novelty@10", "ndcg@10_std", "ndcg@10_ci95", "mae_std", "users", "users_without_relevant"}
	for _, k := range cfg.Ks {
		for _, m := range []string{"precision@", "recall@", "f1@", "ndcg@", "coverage@"} {
			want = append(want, m+strconv.Itoa(k))
		}
	}
	for _, m := range []string{"global-mean", "item-mean", "user-bias", "mymodel", "persed"} {
		for _, k := range want {
			if _, ok := head["d"][m][k]; !ok {
				t.Errorf("%s: no %s", m, k)
			}
		}
	}
	if _, ok := head["d"]["popularity"]["mae"]; ok {
		t.Error("popularity is ranking-only: it must report no MAE")
	}
	if head["d"]["persed"]["ndcg@10_std"] == 0 && head["d"]["persed"]["mae_std"] == 0 {
		t.Error("per-seed models and re-drawn splits must show a spread")
	}
	var gen map[string]map[string]float64
	json.Unmarshal(top["domain_generalisation"], &gen)
	for _, m := range []string{"mymodel", "item-mean", "user-bias", "popularity"} {
		if _, ok := gen[m]["d"]; !ok {
			t.Errorf("domain_generalisation: no score for %s: %v", m, gen)
		}
	}
	if _, ok := gen["global-mean"]; ok {
		t.Error("the global mean's generalisation ratio is 1 by construction and must be left out")
	}
	if g := gen["mymodel"]; g["mean"] != g["d"] || g["worst"] != g["d"] {
		t.Errorf("one held-out domain: mean and worst must equal it: %v", g)
	}

	var states map[string]map[string]map[string]map[string]float64
	raw, _ = os.ReadFile(filepath.Join(a, "states.json"))
	if err := json.Unmarshal(raw, &states); err != nil {
		t.Fatal(err)
	}
	for _, st := range States {
		if _, ok := states["d"]["user-bias"][st]; !ok {
			t.Errorf("no MeLU state %s", st)
		}
	}
	var cross map[string]map[string]map[string]map[string]float64
	raw, _ = os.ReadFile(filepath.Join(a, "cross.json"))
	if err := json.Unmarshal(raw, &cross); err != nil {
		t.Fatal(err)
	}
	if _, ok := cross["d_to_d"]["user-bias-no-source"]["k=0"]; !ok {
		t.Errorf("cross-domain: the cross scorer's no-source variant is missing: %v", cross["d_to_d"]["user-bias"])
	}
	var report map[string]any
	raw, _ = os.ReadFile(filepath.Join(a, "report.json"))
	json.Unmarshal(raw, &report)
	if left, _ := report["models_left_out"].(map[string]any); left["broken"] == nil {
		t.Errorf("the model that failed to load is not reported: %v", report["models_left_out"])
	}
	csv, _ := os.ReadFile(filepath.Join(a, "cold.csv"))
	if !strings.HasPrefix(string(csv), "domain,model,k,ndcg@10,") || !strings.Contains(string(csv), "\nd,user-bias,5,") {
		t.Errorf("cold-start curve CSV:\n%s", csv)
	}

	// Predictions: every query item once per user and setting, ranks
	// unique, observed values exactly on query rows, no support-pool item.
	rows, _, err := artifact.ReadAll[Prediction](filepath.Join(a, "predictions.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		protocol, model, user string
		seed                  int64
		k                     int32
	}
	groups := map[key][]Prediction{}
	for _, p := range rows {
		k := key{p.Protocol, p.Model, p.User, p.Seed, p.K}
		groups[k] = append(groups[k], p)
	}
	testUser := map[string]*tasks.Episode{}
	for i := range d.Test {
		testUser[d.Test[i].User] = &d.Test[i]
	}
	checked := 0
	for k, ps := range groups {
		ranks := map[int32]bool{}
		inQ := 0
		for _, p := range ps {
			if ranks[p.Rank] || p.Rank < 1 {
				t.Fatalf("%+v: rank %d repeated or invalid", k, p.Rank)
			}
			ranks[p.Rank] = true
			if p.InQuery != (p.Observed != nil) {
				t.Fatalf("%+v: observed value on a non-query row or missing on a query row", k)
			}
			if p.InQuery {
				inQ++
			}
		}
		if e := testUser[k.user]; e != nil && k.protocol == "cold" {
			if inQ != len(e.Query) {
				t.Fatalf("%+v: %d query rows, want %d", k, inQ, len(e.Query))
			}
			pool, _ := draw(e, uint64(k.seed), cfg.Temporal)
			for _, p := range ps {
				for _, x := range pool {
					if x.Item == p.Item {
						t.Fatalf("%+v: support-pool item %d in the predictions", k, p.Item)
					}
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no cold-start predictions checked")
	}
}

func TestDiscoverRefusesABaselineName(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "user-bias"), 0o755)
	w := newWorld(10)
	_, _, err := discover(dir, []uint64{1}, w.itemTable(), fakeLoader(make([]float32, 10)), []string{"user-bias"})
	if err == nil || !strings.Contains(err.Error(), "baseline's name") {
		t.Errorf("err %v", err)
	}
	found, skipped, err := discover(filepath.Join(dir, "absent"), []uint64{1}, w.itemTable(), nil, nil)
	if err != nil || len(found) != 0 || len(skipped) != 0 {
		t.Errorf("a missing models folder is no models: %v %v %v", found, skipped, err)
	}
}
