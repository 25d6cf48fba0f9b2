// Command models benchmarks meta-training and new-user adaptation on this
// machine, and runs the same MAML step written in PyTorch (maml_torch.py)
// as the peer, in the same run, so the ratio compares like with like:
//
//	go run ./bench/models                 # GoMLX + PyTorch peer (needs bench/requirements.txt)
//	go run ./bench/models -peer=false     # GoMLX only
//
// The GoMLX backend comes from $GOMLX_BACKEND through lib/backend (pure Go
// by default; xla:cuda on a GPU machine, see gpu.sh); -device cuda runs the
// peer on the GPU too. The report records the backend's configuration,
// how it was chosen, and the peer's torch version and device.
//
// Shapes follow ../shared/docs/gomlx.md: an NCF-sized model (item and user
// vectors of 32, MLP 64-32), 32 tasks x 10 support x 10 query, 5 inner SGD
// steps adapting the user state and the output layer, Adam outer update;
// adaptation: K=10 support ratings, the whole catalogue (10,000 items)
// scored. Data are synthetic (lib/synth): timing does not depend
// on values. Results are printed and written as JSON to -out.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/crossrec/crossrec/lib/adapt"
	"github.com/crossrec/crossrec/lib/backend"
	"github.com/crossrec/crossrec/lib/fastgrad"
	"github.com/crossrec/crossrec/lib/meta"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/pipeline"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/synth"
	"github.com/crossrec/crossrec/lib/tasks"
)

type result struct {
	Name      string  `json:"name"`
	MedianMS  float64 `json:"median_ms"`
	P99MS     float64 `json:"p99_ms,omitempty"`
	TasksPerS float64 `json:"tasks_per_s,omitempty"`
}

func main() {
	nTasks := flag.Int("tasks", 32, "tasks per meta-batch")
	k := flag.Int("k", 10, "support ratings per task")
	q := flag.Int("q", 10, "query ratings per task")
	inner := flag.Int("inner", 5, "inner SGD steps")
	nItems := flag.Int("items", 10000, "catalogue size")
	rounds := flag.Int("rounds", 20, "timed meta-steps per method")
	adapts := flag.Int("adapts", 200, "timed adaptations")
	stock := flag.Bool("stock", false, "also time GoMLX's own DotGeneral gradient")
	peer := flag.Bool("peer", true, "run the PyTorch peer (python3 bench/models/maml_torch.py)")
	python := flag.String("python", "python3", "python interpreter for the peer")
	device := flag.String("device", "cpu", "device the PyTorch peer runs on: cpu or cuda")
	// A GPU run is one unattended shot: timing the pure-Go fallback there
	// instead would waste it, so it can be made an error.
	strict := flag.Bool("strict", false, "fail if the backend asked for cannot be built, instead of falling back to pure Go")
	out := flag.String("out", "bench/out/models.json", "JSON results")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the GoMLX side to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: -cpuprofile: %v\n", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if *device != "cpu" && *device != "cuda" {
		fmt.Fprintf(os.Stderr, "bench: -device %q: want cpu or cuda\n", *device)
		os.Exit(2)
	}
	if err := run(*nTasks, *k, *q, *inner, *nItems, *rounds, *adapts, *stock, *peer, *strict, *python, *device, *out); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		if errors.Is(err, errBackend) {
			os.Exit(3) // gpu.sh retries with another backend configuration
		}
		os.Exit(1)
	}
}

// errBackend is -strict's error: the backend asked for could not be built.
var errBackend = errors.New("the backend asked for is not usable")

func run(nTasks, k, q, inner, nItems, rounds, adapts int, stock, peer, strict bool, python, device, out string) error {
	sel, err := backend.Select("")
	if err != nil {
		return err
	}
	if strict && sel.Fallback != nil {
		return fmt.Errorf("-strict: %w: %v", errBackend, sel.Fallback)
	}
	items := synth.Items(1, nItems)
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		return err
	}
	eps := synth.Episodes(2, items, 4*nTasks, k, q)
	cfg := models.Config{Arch: models.NCF, ItemDim: 32, UserDim: 32, Hidden: [2]int{64, 32}, Encoder: true,
		Adapt: []string{models.GroupLast}, InnerSteps: inner, InnerLR: 0.1, Shape: cat.Shape()}
	fmt.Printf("backend %s (%s; %s); %d CPUs; %d tasks x %d support x %d query, %d inner steps, %d items\n",
		sel.Config, sel.Backend.Description(), sel.Reason, runtime.NumCPU(), nTasks, k, q, inner, nItems)
	var res []result
	variants := []struct {
		name  string
		step  meta.StepConfig
		stock bool
	}{
		{"gomlx maml second order", meta.StepConfig{Method: meta.MAML}, false},
		{"gomlx maml first order", meta.StepConfig{Method: meta.MAML, FirstOrder: true}, false},
		{"gomlx reptile", meta.StepConfig{Method: meta.Reptile}, false},
	}
	if stock {
		variants = append(variants, struct {
			name  string
			step  meta.StepConfig
			stock bool
		}{"gomlx maml second order, stock DotGeneral gradient", meta.StepConfig{Method: meta.MAML}, true})
	}
	for _, v := range variants {
		fastgrad.Unregister()
		if !v.stock {
			if err := fastgrad.Register(); err != nil {
				return err
			}
		}
		v.step.InnerSteps, v.step.OuterLR, v.step.Clip = inner, 1e-3, 10
		s, err := meta.NewStepper(sel.Backend, cfg, v.step)
		if err != nil {
			return err
		}
		st := meta.NewState(cfg.Init(1))
		sk := k
		if v.step.Method == meta.Reptile {
			sk = k + q
		}
		b := &meta.Batch{Support: cat.NewSet(nTasks, sk), Query: cat.NewSet(nTasks, q), Domain: make([]int32, nTasks)}
		for t := range nTasks {
			e := eps[t]
			set := e.Support
			if v.step.Method == meta.Reptile {
				set = append(slices.Clone(e.Support), e.Query...)
			}
			if err := cat.Fill(b.Support, t, 0, set); err != nil {
				return err
			}
			if err := cat.Fill(b.Query, t, 0, e.Query); err != nil {
				return err
			}
		}
		var times []float64
		for i := range rounds + 3 {
			t0 := time.Now()
			if _, err := s.Run(st, cat, b); err != nil {
				return err
			}
			if i >= 3 { // the first runs compile the graph
				times = append(times, ms(time.Since(t0)))
			}
		}
		r := result{Name: v.name, MedianMS: pct(times, 50), P99MS: pct(times, 99)}
		r.TasksPerS = float64(nTasks) / (r.MedianMS / 1000)
		res = append(res, r)
		fmt.Printf("%-52s %8.1f ms/step  %7.0f tasks/s\n", r.Name, r.MedianMS, r.TasksPerS)
	}
	fastgrad.Unregister()
	if err := fastgrad.Register(); err != nil {
		return err
	}
	r, err := adaptation(sel, cfg, items, eps, adapts, "")
	if err != nil {
		return err
	}
	res = append(res, r)
	fmt.Printf("%-52s %8.2f ms p50  %6.2f ms p99\n", r.Name, r.MedianMS, r.P99MS)
	// The same request with the adaptation in plain Go (lib/adapt): same
	// config and weights, listed after the rows paired with the peer's.
	var fast []result
	fr, err := fastAdaptation(cfg, items, eps, adapts, "")
	if err != nil {
		return err
	}
	fast = append(fast, fr)
	fmt.Printf("%-52s %8.2f ms p50  %6.2f ms p99  (graph/fast %.1f)\n", fr.Name, fr.MedianMS, fr.P99MS, r.MedianMS/fr.MedianMS)
	// The configuration the pipeline ships (params.yaml's maml run, read
	// rather than restated so the two cannot drift). It has no PyTorch
	// counterpart; it is what a served request costs.
	p, err := params.Load("params.yaml")
	if err != nil {
		return fmt.Errorf("the shipped model's config: %w (run from the repository root)", err)
	}
	shipped := pipeline.TrainOptions(p.Train, p.Train.Models["maml"], 1, p.Split.SupportK).Model
	shipped.Shape = cat.Shape()
	r, err = adaptation(sel, shipped, items, eps, adapts, fmt.Sprintf(" (shipped: %d-%d, %d steps, ranking %v)",
		shipped.Hidden[0], shipped.Hidden[1], shipped.InnerSteps, shipped.Rank))
	if err != nil {
		return err
	}
	res = append(res, r)
	fmt.Printf("%-52s %8.2f ms p50  %6.2f ms p99\n", r.Name, r.MedianMS, r.P99MS)
	label := fmt.Sprintf(" (shipped: %d-%d, %d steps, ranking %v)", shipped.Hidden[0], shipped.Hidden[1], shipped.InnerSteps, shipped.Rank)
	if fr, err = fastAdaptation(shipped, items, eps, adapts, label); err != nil {
		return err
	}
	fast = append(fast, fr)
	fmt.Printf("%-52s %8.2f ms p50  %6.2f ms p99  (graph/fast %.1f)\n", fr.Name, fr.MedianMS, fr.P99MS, r.MedianMS/fr.MedianMS)
	res = append(res, fast...)
	report := map[string]any{"backend": sel.Config, "backend_description": sel.Backend.Description(),
		"backend_reason": sel.Reason, "cpus": runtime.NumCPU(), "go": runtime.Version(), "gomlx_version": moduleVersion("github.com/gomlx/gomlx"),
		"tasks": nTasks, "support": k, "query": q, "inner_steps": inner, "items": nItems, "rounds": rounds, "adapts": adapts, "gomlx": res}
	if sel.Fallback != nil {
		report["backend_fallback"] = sel.Fallback.Error()
	}
	if peer {
		info, err := runPeer(python, device, nTasks, k, q, inner, nItems, rounds, adapts)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: PyTorch peer not run: %v\n", err)
			report["pytorch_error"] = err.Error()
		} else {
			pr := info.Results
			report["pytorch"], report["pytorch_version"], report["pytorch_device"] = pr, info.Torch, info.DeviceName
			fmt.Printf("PyTorch %s on %s\n", info.Torch, info.DeviceName)
			for _, p := range pr {
				fmt.Printf("%-52s %8.2f ms", p.Name, p.MedianMS)
				if p.P99MS > 0 && p.TasksPerS == 0 {
					fmt.Printf(" p50  %6.2f ms p99", p.P99MS)
				}
				fmt.Println()
			}
			ratios := map[string]float64{}
			for i, g := range res {
				if i < len(pr) && pr[i].MedianMS > 0 {
					ratios[g.Name] = g.MedianMS / pr[i].MedianMS
					fmt.Printf("ratio GoMLX/PyTorch, %-33s %6.2f\n", g.Name[len("gomlx "):], ratios[g.Name])
				}
			}
			report["ratio_gomlx_over_pytorch"] = ratios
			// The plain-Go adaptation against the peer's request (same
			// shapes as the first fast row).
			for _, p := range pr {
				if strings.HasPrefix(p.Name, "pytorch adapt") && p.MedianMS > 0 {
					report["ratio_fast_over_pytorch"] = fast[0].MedianMS / p.MedianMS
					fmt.Printf("ratio plain-Go adapt/PyTorch, %-24s %6.2f\n", "adapt + score", fast[0].MedianMS/p.MedianMS)
				}
			}
		}
	}
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(report, "", "  ")
		return os.WriteFile(out, append(b, '\n'), 0o644)
	}
	return nil
}

// adaptation times ScoreRank with K support ratings over the whole
// catalogue: adaptation, predictions and ranking scores.
func adaptation(sel *backend.Selection, cfg models.Config, items *tasks.ItemTable, eps []tasks.Episode, n int, label string) (result, error) {
	cfg.LearnInnerLR = false
	m, err := models.NewModel("bench", sel.Backend, cfg, cfg.Init(1), items)
	if err != nil {
		return result{}, err
	}
	return timeRequests(m, "gomlx", items, eps, n, label)
}

// fastAdaptation is adaptation's request with lib/adapt's plain-Go
// adaptation instead of the graph, on the same config and weights.
func fastAdaptation(cfg models.Config, items *tasks.ItemTable, eps []tasks.Episode, n int, label string) (result, error) {
	cfg.LearnInnerLR = false
	s, err := adapt.New("bench", cfg, cfg.Init(1), items)
	if err != nil {
		return result{}, err
	}
	return timeRequests(s, "plain-Go", items, eps, n, label)
}

// timeRequests times n adapt-and-score requests of r over the first
// domain's whole catalogue (after 5 untimed ones), cycling through eps.
func timeRequests(r recommend.Ranker, path string, items *tasks.ItemTable, eps []tasks.Episode, n int, label string) (result, error) {
	all := make([]int32, len(items.Domains[0].IDs))
	for i := range all {
		all[i] = int32(i)
	}
	var times []float64
	for i := range n + 5 {
		e := eps[i%len(eps)]
		t0 := time.Now()
		if _, _, err := r.ScoreRank(0, e.Support, all); err != nil {
			return result{}, err
		}
		if i >= 5 {
			times = append(times, ms(time.Since(t0)))
		}
	}
	return result{Name: fmt.Sprintf("%s adapt K=%d + score %d items%s", path, len(eps[0].Support), len(all), label), MedianMS: pct(times, 50), P99MS: pct(times, 99)}, nil
}

// peerInfo is what maml_torch.py prints.
type peerInfo struct {
	Torch      string   `json:"torch"`
	DeviceName string   `json:"device_name"`
	Results    []result `json:"results"`
}

func runPeer(python, device string, nTasks, k, q, inner, nItems, rounds, adapts int) (*peerInfo, error) {
	script := filepath.Join("bench", "models", "maml_torch.py")
	cmd := exec.Command(python, script, "--tasks", fmt.Sprint(nTasks), "--k", fmt.Sprint(k), "--q", fmt.Sprint(q),
		"--inner", fmt.Sprint(inner), "--items", fmt.Sprint(nItems), "--rounds", fmt.Sprint(rounds), "--adapts", fmt.Sprint(adapts),
		"--device", device)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w", script, err)
	}
	var info peerInfo
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return nil, fmt.Errorf("%s: output: %w", script, err)
	}
	return &info, nil
}

// moduleVersion is the version of a module linked into this binary, or "".
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(xs []float64, p int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (len(s) - 1) * p / 100
	return s[i]
}
