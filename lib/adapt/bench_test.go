package adapt

import (
	"slices"
	"testing"
	"time"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/synth"
	"github.com/crossrec/crossrec/lib/tasks"
)

// benchScorer is one request's scorer on the shipped NCF shape (vectors of
// 32, head 32-16, encoder, output layer adapted, 3 inner steps, learned
// step sizes, ranking score) over a 10,000-item catalogue: the graph model
// (models.Model) or the fast one (Scorer).
type benchScorer interface {
	ScoreRank(domain int32, support []tasks.Rated, candidates []int32) (pred, rank []float32, err error)
}

func benchSetup(b *testing.B) (graph *models.Model, fast *Scorer, eps []tasks.Episode, all []int32) {
	items := synth.Items(1, 10000)
	eps = synth.Episodes(2, items, 64, 10, 10)
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := models.Config{Arch: models.NCF, ItemDim: 32, UserDim: 32, Hidden: [2]int{32, 16}, Encoder: true,
		Adapt: []string{models.GroupLast}, InnerSteps: 3, InnerLR: 0.1, LearnInnerLR: true, Rank: true, Shape: cat.Shape()}
	w := randomWeights(cfg, 1)
	if graph, err = models.NewModel("bench", testBackend(b), cfg, w, items); err != nil {
		b.Fatal(err)
	}
	if fast, err = New("bench", cfg, w, items); err != nil {
		b.Fatal(err)
	}
	all = make([]int32, 10000)
	for i := range all {
		all[i] = int32(i)
	}
	return graph, fast, eps, all
}

// timeRequests runs b.N requests, one user each (K=10), and reports the
// median and 99th percentile besides the mean.
func timeRequests(b *testing.B, eps []tasks.Episode, req func(e tasks.Episode) error) {
	for i := range 3 { // item side, graph compilation
		if err := req(eps[i]); err != nil {
			b.Fatal(err)
		}
	}
	times := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if err := req(eps[i%len(eps)]); err != nil {
			b.Fatal(err)
		}
		times = append(times, float64(time.Since(t0).Nanoseconds())/1e6)
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(times[(len(times)-1)*50/100], "p50-ms")
	b.ReportMetric(times[(len(times)-1)*99/100], "p99-ms")
}

// BenchmarkAdaptScore times one new user's request, adapt to K=10 support
// ratings and score the whole 10,000-item catalogue (predictions and
// ranking scores), on the graph path and the fast path in the same run;
// fast-into is the allocation-free single-goroutine entry point.
func BenchmarkAdaptScore(b *testing.B) {
	graph, fast, eps, all := benchSetup(b)
	for _, c := range []struct {
		name string
		sc   benchScorer
	}{{"graph", graph}, {"fast", fast}} {
		b.Run(c.name, func(b *testing.B) {
			timeRequests(b, eps, func(e tasks.Episode) error {
				_, _, err := c.sc.ScoreRank(0, e.Support, all)
				return err
			})
		})
	}
	b.Run("fast-into", func(b *testing.B) {
		pred, rank := make([]float32, len(all)), make([]float32, len(all))
		timeRequests(b, eps, func(e tasks.Episode) error {
			return fast.ScoreInto(0, nil, 0, e.Support, all, pred, rank)
		})
	})
}

// BenchmarkAdaptOnly times the adaptation alone (K=10, three candidates
// scored), graph and fast path.
func BenchmarkAdaptOnly(b *testing.B) {
	graph, fast, eps, _ := benchSetup(b)
	few := []int32{1, 2, 3}
	for _, c := range []struct {
		name string
		sc   benchScorer
	}{{"graph", graph}, {"fast", fast}} {
		b.Run(c.name, func(b *testing.B) {
			timeRequests(b, eps, func(e tasks.Episode) error {
				_, _, err := c.sc.ScoreRank(0, e.Support, few)
				return err
			})
		})
	}
}
