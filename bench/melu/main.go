// Command melu scores our MeLU peer (bench/melu/melu.py) with the project's
// evaluation harness (lib/eval), beside the baselines and the strong peers
// at the settings the pipeline's evaluate stage chose:
//
//	go run ./bench/melu -root /work/main -models bench/melu/models -out bench/melu/results
//
// -models holds melu/seed-<s>/model.pt (melu.py train); each seed's model is
// served by its own `melu.py serve` process over a pipe (pipe.go). The
// harness tunes each peer per domain on validation users; to score exactly
// the pipeline's peers without re-tuning, each domain is evaluated in a run
// of its own whose peer grids are the single point artifacts/evaluate/
// report.json chose for that domain. A run sees only that domain's
// validation, test, warm and cross-domain (as target) users; the training
// episodes are all there, as in the pipeline. The per-domain outputs are
// merged into -out (metrics, states, cross, compare, cost json) and a
// Markdown table (melu.md).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// ModelName is the row name of MeLU in every output (the folder under
// -models).
const ModelName = "melu"

func main() {
	root := flag.String("root", ".", "repository whose artifacts/ (tasks, scalers, evaluate/report.json) are read")
	paramsPath := flag.String("params", "params.yaml", "params.yaml the evaluation settings are read from (this checkout's: its lib/params must know every field)")
	models := flag.String("models", "bench/melu/models", "folder holding melu/seed-<s>/model.pt")
	out := flag.String("out", "bench/melu/results", "folder the merged outputs are written to")
	seeds := flag.String("seeds", "", "evaluation seeds, comma-separated (default: params evaluate.seeds); seed s scores the model of seed-<s>")
	domains := flag.String("domains", "", "domains to evaluate, comma-separated (default: all)")
	curve := flag.Bool("curve", true, "score every support size of split.curve_ks (false: split.support_k only)")
	python := flag.String("python", "python3", "Python interpreter with torch")
	threads := flag.Int("threads", 1, "torch threads per serving process")
	timeout := flag.Duration("timeout", 2*time.Minute, "longest wait for one reply")
	flag.Parse()
	if err := run(*root, *paramsPath, *models, *out, *seeds, *domains, *curve, *python, *threads, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "melu:", err)
		os.Exit(1)
	}
}

// pipeline's peer choices: {peer: {domain: choice}}.
type peerChoices map[string]map[string]eval.PeerChoice

func readPeers(path string) (peerChoices, error) {
	var rep struct {
		Peers peerChoices `json:"peers"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the pipeline's peer choices: %w (run dvc repro first)", err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rep.Peers) == 0 {
		return nil, fmt.Errorf("%s: no peers", path)
	}
	return rep.Peers, nil
}

// peerGrids are one-point grids at the settings chosen for domain: the
// harness's search then has one setting to try.
func peerGrids(pc peerChoices, domain string) (params.EvaluatePeers, error) {
	var g params.EvaluatePeers
	get := func(peer, key string) (float64, error) {
		ch, ok := pc[peer][domain]
		if !ok {
			return 0, fmt.Errorf("report.json has no %s setting for %s", peer, domain)
		}
		v, ok := ch.Params[key]
		if !ok {
			return 0, fmt.Errorf("report.json: %s on %s has no %q", peer, domain, key)
		}
		return v, nil
	}
	type spec struct {
		peer string
		keys []string
		set  func(x []float64)
	}
	specs := []spec{
		{"ease", []string{"lambda"}, func(x []float64) { g.EASE.Lambda = x[:1] }},
		{"itemknn", []string{"k", "shrink"}, func(x []float64) { g.ItemKNN.K, g.ItemKNN.Shrink = []int{int(x[0])}, x[1:2] }},
		{"rp3beta", []string{"alpha", "beta", "k"}, func(x []float64) { g.RP3beta.Alpha, g.RP3beta.Beta, g.RP3beta.K = x[:1], x[1:2], []int{int(x[2])} }},
		{"puresvd", []string{"factors"}, func(x []float64) { g.PureSVD.Factors = []int{int(x[0])} }},
		{"mf-foldin", []string{"factors", "lambda"}, func(x []float64) { g.MF.Factors, g.MF.Lambda = []int{int(x[0])}, x[1:2] }},
		{"knn-baseline", []string{"k", "shrink", "alpha"}, func(x []float64) {
			g.KNNBaseline.K, g.KNNBaseline.Shrink, g.KNNBaseline.Alpha = []int{int(x[0])}, x[1:2], x[2:3]
		}},
	}
	for _, sp := range specs {
		if _, ok := pc[sp.peer]; !ok {
			continue // a peer the pipeline did not run
		}
		x := make([]float64, len(sp.keys))
		for i, k := range sp.keys {
			v, err := get(sp.peer, k)
			if err != nil {
				return g, err
			}
			x[i] = v
		}
		sp.set(x)
	}
	return g, nil
}

// onlyDomain is d with the held-out, validation and warm users of one
// domain only, and the cross-domain sets whose target it is.
func onlyDomain(d *eval.Data, name string) *eval.Data {
	keep := func(eps []tasks.Episode) []tasks.Episode {
		var out []tasks.Episode
		for _, e := range eps {
			if e.Domain == name {
				out = append(out, e)
			}
		}
		return out
	}
	dd := *d
	dd.Valid, dd.Test, dd.Warm = keep(d.Valid), keep(d.Test), keep(d.Warm)
	// Training rows of the domain and of the source domains of its
	// cross-domain pairs (ItemKNN's cross-domain neighbours join the two):
	// the peers are fitted per domain, and a domain with no rows is not
	// fitted at all, which saves fitting the others at this domain's
	// setting. The domains' statistics (cold flags, training counts) were
	// computed by eval.Load from every training row and are kept.
	uses := map[string]bool{name: true}
	dd.Cross = nil
	for _, c := range d.Cross {
		if c.Pair.Target == name {
			dd.Cross = append(dd.Cross, c)
			uses[c.Pair.Source] = true
		}
	}
	dd.Train = nil
	for _, e := range d.Train {
		if uses[e.Domain] {
			dd.Train = append(dd.Train, e)
		}
	}
	return &dd
}

func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("-seeds: %w", err)
		}
		out = append(out, v)
	}
	return out, nil
}

func run(root, paramsPath, modelsDir, outDir, seedList, domainList string, curve bool, python string, threads int, timeout time.Duration) error {
	start := time.Now()
	p, err := params.Load(paramsPath)
	if err != nil {
		return err
	}
	cfg, err := eval.ConfigFrom(p)
	if err != nil {
		return err
	}
	if seedList != "" {
		if cfg.Seeds, err = parseSeeds(seedList); err != nil {
			return err
		}
	}
	if !curve {
		cfg.CurveKs = []int{cfg.SupportK}
	}
	// Leave-one-domain-out rows and ablations are the pipeline's models'
	// business; MeLU has neither.
	cfg.LODODomains, cfg.Ablate = nil, nil
	for _, s := range cfg.Seeds {
		f := filepath.Join(modelsDir, ModelName, fmt.Sprintf("seed-%d", s), "model.pt")
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("seed %d: %w (train it: python3 bench/melu/melu.py train --seed %d --out %s)", s, err, s, filepath.Dir(f))
		}
	}
	entries, err := os.ReadDir(modelsDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != ModelName && !strings.HasPrefix(e.Name(), ".") {
			return fmt.Errorf("%s: only %s/ may be there (found %s/): every folder is scored as a model", modelsDir, ModelName, e.Name())
		}
	}
	pc, err := readPeers(filepath.Join(root, "artifacts/evaluate/report.json"))
	if err != nil {
		return err
	}
	d, err := eval.Load(filepath.Join(root, "artifacts/tasks"), filepath.Join(root, "artifacts/normalize/scalers.parquet"), cfg.CrossPairs)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "melu: inputs read in %.1fs\n", time.Since(start).Seconds())
	script, err := filepath.Abs(filepath.Join(filepath.Dir(os.Args[0]), "melu.py"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(script); err != nil {
		// go run builds into a temporary folder: the script is found from
		// the working directory instead.
		script = "bench/melu/melu.py"
	}
	itemsPath := filepath.Join(root, "artifacts/tasks/items.arrow")
	// One serving process per seed model, shared by the per-domain runs.
	procs := map[string]*PipeScorer{}
	defer func() {
		for _, s := range procs {
			_ = s.Close()
		}
	}()
	load := func(dir string, items *tasks.ItemTable) (recommend.Scorer, error) {
		if s, ok := procs[dir]; ok {
			return s, nil
		}
		argv := []string{python, script, "serve", filepath.Join(dir, "model.pt"), "--items", itemsPath, "--threads", strconv.Itoa(threads)}
		s, err := StartPipe(ModelName, argv, 5*time.Minute, timeout)
		if err != nil {
			return nil, err
		}
		if len(s.Sizes) != len(items.Domains) {
			_ = s.Close()
			return nil, fmt.Errorf("%s serves %d domains, the items table has %d", dir, len(s.Sizes), len(items.Domains))
		}
		for i, n := range s.Sizes {
			if n != len(items.Domains[i].IDs) {
				_ = s.Close()
				return nil, fmt.Errorf("%s: domain %d has %d items, the items table %d", dir, i, n, len(items.Domains[i].IDs))
			}
		}
		procs[dir] = s
		return s, nil
	}
	var names []string
	for _, dom := range d.Domains {
		names = append(names, dom.Name)
	}
	if domainList != "" {
		want := strings.Split(domainList, ",")
		for _, w := range want {
			if !slices.Contains(names, w) {
				return fmt.Errorf("-domains: %q is not a domain (%v)", w, names)
			}
		}
		names = want
	}
	tmp, err := os.MkdirTemp("", "melu-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	merged := map[string]map[string]any{"metrics": {}, "states": {}, "cross": {}, "compare": {}, "cost": {}, "report": {}}
	for _, name := range names {
		t := time.Now()
		c := cfg
		if c.Peers, err = peerGrids(pc, name); err != nil {
			return err
		}
		dd := onlyDomain(d, name)
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		paths := eval.Paths{ModelsDir: modelsDir,
			Metrics: filepath.Join(dir, "metrics.json"), States: filepath.Join(dir, "states.json"), Cross: filepath.Join(dir, "cross.json"),
			Compare: filepath.Join(dir, "compare.json"), Report: filepath.Join(dir, "report.json"), Predictions: filepath.Join(dir, "predictions.parquet"),
			ColdCurve: filepath.Join(dir, "cold.csv"), CrossCurve: filepath.Join(dir, "cross.csv"), Cost: filepath.Join(dir, "cost.json")}
		if err := eval.RunData(dd, paths, c, eval.Options{Load: load, Log: os.Stderr, Lineage: artifact.Lineage{Stage: "bench/melu", Inputs: d.Inputs}}); err != nil {
			return fmt.Errorf("domain %s: %w", name, err)
		}
		for kind, file := range map[string]string{"metrics": paths.Metrics, "states": paths.States, "cross": paths.Cross, "compare": paths.Compare, "cost": paths.Cost, "report": paths.Report} {
			var m map[string]any
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			switch kind {
			case "cross":
				maps.Copy(merged[kind], m) // keyed by pair; only pairs with this target ran
			case "cost", "report":
				merged[kind][name] = m
			default:
				if v, ok := m[name]; ok {
					merged[kind][name] = v
				}
			}
		}
		if _, ok := merged["metrics"][name].(map[string]any)[ModelName]; !ok {
			return fmt.Errorf("domain %s: no %s row in the metrics (was it left out? see the log)", name, ModelName)
		}
		merged["cost"][name].(map[string]any)["domain_seconds"] = math.Round(time.Since(t).Seconds()*10) / 10
		fmt.Fprintf(os.Stderr, "melu: %s evaluated in %.1fs\n", name, time.Since(t).Seconds())
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	merged["cost"]["total_seconds"] = math.Round(time.Since(start).Seconds()*10) / 10
	merged["cost"]["run"] = map[string]any{"seeds": cfg.Seeds, "curve_ks": cfg.CurveKs, "domains": names, "threads": threads}
	for kind, m := range merged {
		b, err := json.MarshalIndent(m, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(outDir, kind+".json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	md, err := table(merged, names, cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(outDir, "melu.md"), []byte(md), 0o644)
}
