// Command adapt measures what the plain-Go adaptation (lib/adapt) changes
// in the evaluate stage: it scores one trained lib/models export on the
// real meta-test users with eval.ColdStart (the evaluate stage's cold-start
// protocol: same candidates, metrics and tie-breaking), once through the
// adaptation graph (models.LoadModel) and once through lib/adapt, and
// prints the wall and CPU time of each and the largest metric difference.
//
//	go run ./bench/adapt -root /path/to/repo -model maml -k 10
//
// root must hold params.yaml and the pipeline's artifacts (tasks, scalers,
// models); nothing is written there.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/crossrec/crossrec/lib/adapt"
	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/recommend"
)

func main() {
	root := flag.String("root", ".", "repository root with params.yaml and artifacts/")
	model := flag.String("model", "maml", "trained model (artifacts/models/<model>/seed-<seed>)")
	seed := flag.Int("seed", 1, "the model's training seed folder")
	k := flag.Int("k", 10, "support size")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the fast path's ColdStart here")
	flag.Parse()
	if err := run(*root, *model, *seed, *k, *prof); err != nil {
		fmt.Fprintf(os.Stderr, "bench/adapt: %v\n", err)
		os.Exit(1)
	}
}

func run(root, model string, seed, k int, prof string) error {
	p, err := params.Load(filepath.Join(root, "params.yaml"))
	if err != nil {
		return err
	}
	cfg, err := eval.ConfigFrom(p)
	if err != nil {
		return err
	}
	t0 := time.Now()
	d, err := eval.Load(filepath.Join(root, "artifacts", "tasks"), filepath.Join(root, "artifacts", "normalize", "scalers.parquet"), p.Tasks.CrossDomain)
	if err != nil {
		return err
	}
	fmt.Printf("data loaded in %.1f s; %d meta-test users; GOMAXPROCS %d\n", time.Since(t0).Seconds(), len(d.Test), runtime.GOMAXPROCS(0))
	dir := filepath.Join(root, "artifacts", "models", model, fmt.Sprintf("seed-%d", seed))
	var scores [2]*eval.ColdStartScores
	for i, path := range []string{"graph (models.LoadModel)", "fast (adapt.Load)"} {
		var sc recommend.Scorer
		if i == 0 {
			sc, err = models.LoadModel(dir, d.Items)
		} else {
			sc, err = adapt.Load(dir, d.Items)
		}
		if err != nil {
			return err
		}
		// The item side of every domain first (once per model, either path).
		t0 := time.Now()
		for dom := range d.Items.Domains {
			if _, err := sc.Score(int32(dom), nil, []int32{0}); err != nil {
				return err
			}
		}
		itemSide := time.Since(t0).Seconds()
		if prof != "" && i == 1 {
			f, err := os.Create(prof)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		t0, c0 := time.Now(), cpuSeconds()
		s, err := eval.ColdStart(d, cfg, sc, cfg.Seeds[0], k)
		if err != nil {
			return err
		}
		if prof != "" && i == 1 {
			pprof.StopCPUProfile()
		}
		fmt.Printf("%-26s item side %.2f s, then ColdStart K=%d: %.2f s wall, %.2f s CPU\n", path, itemSide, k, time.Since(t0).Seconds(), cpuSeconds()-c0)
		scores[i] = s
	}
	worst, where := 0.0, ""
	for dom, ms := range scores[0].Metrics {
		for name, v := range ms {
			if diff := math.Abs(v - scores[1].Metrics[dom][name]); diff > worst || where == "" {
				worst, where = diff, dom+" "+name
			}
		}
	}
	fmt.Printf("largest metric difference between the paths: %.3g (%s)\n", worst, where)
	return nil
}

// cpuSeconds is the process's user and system CPU time so far: on a
// machine shared with other work it moves less than the wall clock does.
func cpuSeconds() float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return math.NaN()
	}
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e9
}
