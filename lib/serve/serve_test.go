package serve

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"

	"github.com/crossrec/crossrec/lib/adapt"
	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/normalize"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/synth"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/vae"
)

// The test catalogue: dom0 rated in stars (0.5 to 5, MovieLens' scale),
// dom1 in play counts (log1p min-max, as lib/normalize fits Last.fm).
var testScalers = []schema.Scaler{
	{Domain: "dom0", Feature: "rating", Method: normalize.MinMax, Min: 0.5, Max: 5},
	{Domain: "dom0", Feature: "popularity", Method: normalize.Log1pStandard, Mean: 1, Std: 1},
	{Domain: "dom1", Feature: "playcount", Method: normalize.Log1pMinMax, Min: math.Log1p(1), Max: math.Log1p(5000)},
}

var (
	fixOnce  sync.Once
	fixItems *tasks.ItemTable
	fixNCF   *models.Model
	fixVAE   *vae.Model
	fixErr   error
)

// fixtures builds, once per test binary, a small synthetic catalogue and
// two in-process models over it: an NCF with a ranking head (lib/models,
// what the meta-learners export) and a Mult-VAE (ranking only). Random
// weights are enough: the tests check the serving path, not the quality.
func fixtures(t testing.TB) (*tasks.ItemTable, *models.Model, *vae.Model) {
	t.Helper()
	fixOnce.Do(func() {
		fixItems = synth.Items(1, 40, 30)
		var cat *models.Catalog
		if cat, fixErr = models.NewCatalog(fixItems, nil); fixErr != nil {
			return
		}
		cfg := models.Config{Arch: models.NCF, ItemDim: 4, UserDim: 3, Hidden: [2]int{5, 4}, Encoder: true,
			InnerSteps: 2, InnerLR: 0.1, Rank: true, Shape: cat.Shape()}
		var b backends.Backend
		if b, fixErr = backends.NewWithConfig("go:parallelism=-1"); fixErr != nil {
			return
		}
		if fixNCF, fixErr = models.NewModel("ncf-test", b, cfg, cfg.Init(1), fixItems); fixErr != nil {
			return
		}
		fixVAE, fixErr = newVAE(fixItems)
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fixItems, fixNCF, fixVAE
}

func newVAE(items *tasks.ItemTable) (*vae.Model, error) {
	c := vae.Config{Hidden: 8, Latent: 4, InnerSteps: 1}
	for _, d := range items.Domains {
		c.Domains = append(c.Domains, d.Name)
		c.Items = append(c.Items, len(d.IDs))
	}
	return vae.NewModel("vae-test", c, randomWeights(c.Vars(), 2))
}

func randomWeights(specs []models.VarSpec, seed uint64) *models.Weights {
	r := rand.New(rand.NewPCG(seed, 1))
	w := &models.Weights{Specs: specs}
	for _, s := range specs {
		v := make([]float32, s.Size())
		for i := range v {
			v[i] = float32(0.3 * r.NormFloat64())
		}
		w.Values = append(w.Values, v)
	}
	return w
}

func service(t testing.TB, sc recommend.Scorer) *Service {
	t.Helper()
	items, _, _ := fixtures(t)
	s, err := newService(sc, items, testScalers, "scalers.parquet")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkAnswer holds every answer to the service's promises: n items (or
// the whole catalogue left), best first, no rated item, every number
// finite, predicted values only from models that predict.
func checkAnswer(t testing.TB, s *Service, req Request, resp *Response) {
	t.Helper()
	rated := map[string]bool{}
	for _, r := range req.Ratings {
		rated[r.Item] = true
	}
	d := slices.IndexFunc(s.domains, func(x domainInfo) bool { return x.name == req.Domain })
	if want := min(req.N, len(s.domains[d].ids)-len(rated)); len(resp.Items) != want {
		t.Fatalf("%d items, want %d", len(resp.Items), want)
	}
	for k, r := range resp.Items {
		if r.Rank != k+1 || rated[r.Item] || s.domains[d].ids[r.Index] != r.Item {
			t.Fatalf("item %d: %+v (rated %v)", k, r, rated)
		}
		if !finite(float64(r.Score)) {
			t.Fatalf("item %d: score %g", k, r.Score)
		}
		if k > 0 && (r.Score > resp.Items[k-1].Score || r.Score == resp.Items[k-1].Score && r.Index < resp.Items[k-1].Index) {
			t.Fatalf("items %d and %d out of order: %+v %+v", k-1, k, resp.Items[k-1], r)
		}
		if s.rankingOnly != (r.Predicted == nil) || (r.Value == nil) != (r.Predicted == nil) {
			t.Fatalf("item %d: ranking only %v, value %v, predicted %v", k, s.rankingOnly, r.Value, r.Predicted)
		}
		if r.Predicted != nil && (!finite(float64(*r.Value)) || !finite(*r.Predicted)) {
			t.Fatalf("item %d: value %g predicted %g", k, *r.Value, *r.Predicted)
		}
	}
}

func TestRecommendNCF(t *testing.T) {
	_, ncf, _ := fixtures(t)
	s := service(t, ncf)
	req := Request{Domain: "dom0", Ratings: []Rating{{Item: "d0i3", Value: 5}, {Item: "d0i7", Value: 1}}, N: 5}
	resp, err := s.Recommend(req)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, s, req, resp)
	// The answer is lib/models' own Recommend: same items, scores and
	// values, and predicted is the value mapped back to stars.
	support := []tasks.Rated{{Item: 3, Norm: float32((5 - 0.5) / 4.5), Raw: 5}, {Item: 7, Norm: float32((1 - 0.5) / 4.5), Raw: 1}}
	want, err := ncf.Recommend(0, support, 5, s.domains[0].ids)
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range resp.Items {
		w := want[k]
		if r.Item != w.ID || r.Score != w.Score || *r.Value != w.Value {
			t.Fatalf("rank %d: %+v, lib/models says %+v", k+1, r, w)
		}
		if d := *r.Predicted - (0.5 + 4.5*float64(w.Value)); math.Abs(d) > 1e-5 {
			t.Fatalf("predicted %g for value %g", *r.Predicted, w.Value)
		}
	}
	// Play counts: a valid request on the other scale.
	req = Request{Domain: "dom1", Ratings: []Rating{{Item: "d1i0", Value: 1}, {Item: "d1i1", Value: 1e8}, {Item: "d1i2", Value: 0.5}}, N: 30}
	if resp, err = s.Recommend(req); err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, s, req, resp)
}

func TestRecommendRankingOnly(t *testing.T) {
	_, _, m := fixtures(t)
	s := service(t, m)
	req := Request{Domain: "dom0", Ratings: []Rating{{Item: "d0i3", Value: 5}}, N: 40}
	resp, err := s.Recommend(req)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, s, req, resp) // 39 items, no predicted value
	scores, err := m.Score(0, []tasks.Rated{{Item: 3}}, []int32{resp.Items[0].Index})
	if err != nil || scores[0] != resp.Items[0].Score {
		t.Fatalf("score %v (%v), answer %+v", scores, err, resp.Items[0])
	}
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput is every kind of value the service refuses: an
// *InputError naming the field and the value.
func TestBadInput(t *testing.T) {
	_, ncf, _ := fixtures(t)
	s := service(t, ncf)
	many := make([]Rating, MaxRatings+1)
	for i := range many {
		many[i] = Rating{Item: fmt.Sprintf("d0i%d", i%40), Value: 3}
	}
	for _, c := range []struct {
		name  string
		req   Request
		field string
		want  string
	}{
		{"unknown domain", Request{Domain: "nosuch", N: 3}, "domain", `"nosuch" is not served (have dom0, dom1)`},
		{"empty domain", Request{N: 3}, "domain", `"" is not served`},
		{"n zero", Request{Domain: "dom0", N: 0}, "n", "0 is not between 1 and 1000"},
		{"n negative", Request{Domain: "dom0", N: -1}, "n", "-1 is not between 1 and 1000"},
		{"n huge", Request{Domain: "dom0", N: math.MaxInt}, "n", fmt.Sprint(math.MaxInt) + " is not between"},
		{"n above catalogue", Request{Domain: "dom0", N: 41}, "n", "41 is more than the 40 items of dom0"},
		{"too many ratings", Request{Domain: "dom0", N: 3, Ratings: many}, "ratings", "101 ratings, at most 100"},
		{"unknown item", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "zzz", Value: 3}}}, "ratings[0].item", `"zzz" is not an item of dom0`},
		{"item of another domain", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "d1i0", Value: 3}}}, "ratings[0].item", `"d1i0" is not an item of dom0`},
		{"item twice", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "d0i1", Value: 3}, {Item: "d0i1", Value: 4}}}, "ratings[1].item", `"d0i1" is rated twice`},
		{"NaN", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "d0i1", Value: math.NaN()}}}, "ratings[0].value", "NaN is not a finite number"},
		{"+Inf", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "d0i1", Value: math.Inf(1)}}}, "ratings[0].value", "+Inf is not a finite number"},
		{"-Inf plays", Request{Domain: "dom1", N: 3, Ratings: []Rating{{Item: "d1i1", Value: math.Inf(-1)}}}, "ratings[0].value", "-Inf is not a finite number"},
		{"stars above", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "d0i2", Value: 5.5}}}, "ratings[0].value", "5.5 is outside the dom0 rating scale 0.5 to 5"},
		{"stars below", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "d0i1", Value: 3}, {Item: "d0i2", Value: 0.4}}}, "ratings[1].value", "0.4 is outside the dom0 rating scale 0.5 to 5"},
		{"stars negative", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "d0i2", Value: -3}}}, "ratings[0].value", "-3 is outside"},
		{"stars huge", Request{Domain: "dom0", N: 3, Ratings: []Rating{{Item: "d0i2", Value: math.MaxFloat64}}}, "ratings[0].value", "1.7976931348623157e+308 is outside"},
		{"zero plays", Request{Domain: "dom1", N: 3, Ratings: []Rating{{Item: "d1i2", Value: 0}}}, "ratings[0].value", "0 is not a play count of dom1 (a positive number up to 1e+08)"},
		{"negative plays", Request{Domain: "dom1", N: 3, Ratings: []Rating{{Item: "d1i2", Value: -1}}}, "ratings[0].value", "-1 is not a play count"},
		{"too many plays", Request{Domain: "dom1", N: 3, Ratings: []Rating{{Item: "d1i2", Value: 1.5e8}}}, "ratings[0].value", "1.5e+08 is not a play count"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := s.Recommend(c.req)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, %v; want an input error", resp, err)
			}
			if ie.Field != c.field || !strings.Contains(ie.Msg, c.want) || !strings.HasPrefix(err.Error(), c.field+": ") {
				t.Fatalf("got %q (field %s), want field %s and %q", err, ie.Field, c.field, c.want)
			}
		})
	}
}

// fake is a scorer whose answers the test sets: not concurrent, not a
// ranker, so the service serialises it and predicts with its scores.
type fake struct {
	score func(n int) []float32
	calls int
}

func (f *fake) Name() string { return "fake" }
func (f *fake) Score(d int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	f.calls++
	return f.score(len(cands)), nil
}

// TestModelFailures: what a broken model gives is an error of the
// service's own (a 500, exit status 1), never NaN in an answer nor a
// panic out of Recommend.
func TestModelFailures(t *testing.T) {
	for _, c := range []struct {
		name  string
		score func(n int) []float32
		want  string
	}{
		{"NaN score", func(n int) []float32 { s := make([]float32, n); s[n/2] = float32(math.NaN()); return s }, "non-finite score NaN"},
		{"Inf score", func(n int) []float32 { s := make([]float32, n); s[0] = float32(math.Inf(-1)); return s }, "non-finite score -Inf"},
		{"huge prediction", func(n int) []float32 { s := make([]float32, n); s[1] = 1e30; return s }, "non-finite prediction"},
		{"short", func(n int) []float32 { return make([]float32, n-1) }, "29 scores for 30 candidates"},
		{"panic", func(n int) []float32 { panic("boom") }, "scoring panicked: boom"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{score: c.score}
			s := service(t, f)
			if !s.serial || s.rankingOnly || s.ranker != nil {
				t.Fatalf("fake served as serial %v, ranking only %v, ranker %v", s.serial, s.rankingOnly, s.ranker)
			}
			// dom1's play scale, where 1e30 overflows on the way back.
			_, err := s.Recommend(Request{Domain: "dom1", N: 3})
			if err == nil || IsInput(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a model error with %q", err, c.want)
			}
			if s.Verify() == nil {
				t.Fatal("Verify passed a broken model")
			}
		})
	}
	// A scorer that predicts (not ranking only) without a ranking score
	// of its own: predicted is its score in the published scale.
	f := &fake{score: func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(i) / float32(n)
		}
		return s
	}}
	s := service(t, f)
	resp, err := s.Recommend(Request{Domain: "dom0", N: 2, Ratings: []Rating{{Item: "d0i39", Value: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Items[0]; r.Item != "d0i38" || *r.Value != r.Score || math.Abs(*r.Predicted-(0.5+4.5*float64(r.Score))) > 1e-6 {
		t.Fatalf("got %+v", r)
	}
}

func TestTopN(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for trial := range 200 {
		m := 1 + r.IntN(60)
		score, cands := make([]float32, m), make([]int32, m)
		for i := range score {
			score[i] = float32(r.IntN(8)) // many ties
			cands[i] = int32(i*3 + trial%3)
		}
		r.Shuffle(m, func(i, j int) { score[i], score[j] = score[j], score[i]; cands[i], cands[j] = cands[j], cands[i] })
		all := make([]int, m)
		for i := range all {
			all[i] = i
		}
		slices.SortFunc(all, func(a, b int) int {
			if score[a] != score[b] {
				if score[a] > score[b] {
					return -1
				}
				return 1
			}
			return int(cands[a] - cands[b])
		})
		n := 1 + r.IntN(m+2)
		if got, want := topN(score, cands, n), all[:min(n, m)]; !slices.Equal(got, want) {
			t.Fatalf("m=%d n=%d: got %v, want %v", m, n, got, want)
		}
	}
}

func writeScalers(t *testing.T, path string, sc []schema.Scaler) {
	t.Helper()
	w, err := artifact.Create[schema.Scaler](path, artifact.Lineage{Stage: "normalize"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(sc); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNewRefuses: scalers that cannot serve a domain are refused at start.
func TestNewRefuses(t *testing.T) {
	items, ncf, _ := fixtures(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		sc   []schema.Scaler
		want string
	}{
		{"missing domain", testScalers[:2], "no rating or playcount scaler for domain dom1"},
		{"unknown method", append([]schema.Scaler{{Domain: "dom0", Feature: "rating", Method: "zscore", Min: 1, Max: 5}}, testScalers[2]), `rating scaler has method "zscore"`},
		{"NaN range", append([]schema.Scaler{{Domain: "dom0", Feature: "rating", Method: normalize.MinMax, Min: math.NaN(), Max: 5}}, testScalers[2]), "range [NaN, 5]"},
		{"two scalers", append(slices.Clone(testScalers), testScalers[0]), "two rating or playcount scalers"},
	} {
		path := filepath.Join(dir, c.name+".parquet")
		writeScalers(t, path, c.sc)
		if _, err := New(ncf, items, path); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want an error naming %s with %q", c.name, err, path, c.want)
		}
	}
	path := filepath.Join(dir, "good.parquet")
	writeScalers(t, path, testScalers)
	if _, err := New(ncf, items, path); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ncf, items, filepath.Join(dir, "nosuch.parquet")); err == nil {
		t.Fatal("a missing scalers file was taken")
	}
}

// TestLoadScorer: the exports of lib/models and lib/vae load by their
// arch, and a folder that is not a valid export is refused with its path.
func TestLoadScorer(t *testing.T) {
	items, _, _ := fixtures(t)
	dir := t.TempDir()
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.Config{Arch: models.NCF, ItemDim: 4, UserDim: 3, Hidden: [2]int{5, 4}, Encoder: true, InnerSteps: 1, InnerLR: 0.1, Shape: cat.Shape()}
	ncfDir := filepath.Join(dir, "ncf")
	if err := models.Save(ncfDir, models.Header{Name: "ncf", Config: cfg}, cfg.Init(3), artifact.Lineage{Stage: "train"}); err != nil {
		t.Fatal(err)
	}
	m, err := newVAE(items)
	if err != nil {
		t.Fatal(err)
	}
	w := randomWeights(m.Config.Vars(), 2)
	vaeDir := filepath.Join(dir, "vae", "seed-1")
	if err := vae.Save(vaeDir, vae.Header{Name: "vae", Config: m.Config}, w, artifact.Lineage{Stage: "train"}); err != nil {
		t.Fatal(err)
	}
	if sc, err := LoadScorer(ncfDir, items); err != nil || sc.Name() != "ncf" {
		t.Fatalf("ncf: %v %v", sc, err)
	} else if _, ok := sc.(*adapt.Scorer); !ok {
		t.Fatalf("ncf loaded as %T", sc)
	}
	if sc, err := LoadScorer(vaeDir, items); err != nil || sc.Name() != "vae" {
		t.Fatalf("vae: %v %v", sc, err)
	} else if _, ok := sc.(*vae.Model); !ok {
		t.Fatalf("vae loaded as %T", sc)
	}
	// Another catalogue than the model's: refused, naming the folder.
	if _, err := LoadScorer(vaeDir, synth.Items(1, 40, 31)); err == nil || !strings.Contains(err.Error(), vaeDir) {
		t.Fatalf("catalogue mismatch: %v", err)
	}
	// A damaged weights file fails its content hash.
	bad := filepath.Join(dir, "bad")
	if err := os.CopyFS(bad, os.DirFS(vaeDir)); err != nil {
		t.Fatal(err)
	}
	wp := filepath.Join(bad, models.WeightsFile)
	b, err := os.ReadFile(wp)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(wp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScorer(bad, items); err == nil {
		t.Fatal("a damaged weights file was loaded")
	}
	if err := os.WriteFile(filepath.Join(bad, models.HeaderFile), []byte(`{"name": "x", "arch": "transformer"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScorer(bad, items); err == nil || !strings.Contains(err.Error(), `arch "transformer"`) {
		t.Fatalf("unknown arch: %v", err)
	}
}
