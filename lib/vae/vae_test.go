package vae

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/backend"
	"github.com/crossrec/crossrec/lib/fastgrad"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

func testBackend(t *testing.T) backends.Backend {
	t.Helper()
	if err := fastgrad.Register(); err != nil {
		t.Fatal(err)
	}
	s, err := backend.Select("go")
	if err != nil {
		t.Fatal(err)
	}
	return s.Backend
}

// clustered builds a domain of nItems items in groups of size group; each
// user picks 2*support items from one group (the first support items are
// their support), so a model that learns the groups ranks a user's group
// first, and popularity cannot (every group is as popular).
func clustered(nUsers, nItems, group, support int, grp string, seed uint64) []tasks.Episode {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []tasks.Episode
	for u := range nUsers {
		g := r.IntN(nItems / group)
		perm := r.Perm(group)[:2*support]
		e := tasks.Episode{Domain: "d", User: fmt.Sprintf("%s%d", grp, u), Group: grp}
		for j, p := range perm {
			x := tasks.Rated{Item: int32(g*group + p), Norm: 1}
			if j < support {
				e.Support = append(e.Support, x)
			} else {
				e.Query = append(e.Query, x)
			}
		}
		out = append(out, e)
	}
	return out
}

func itemTable(n int) *tasks.ItemTable {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	return &tasks.ItemTable{Domains: []tasks.ItemDomain{{Name: "d", IDs: ids}}}
}

func smallOptions() Options {
	return Options{Hidden: 16, Latent: 8, Dropout: 0.5, BetaCap: 0.2, AnnealEpochs: 10, Epochs: 30, Batch: 32, LR: 0.01, EvalEvery: 10, SupportK: 5, Seed: 7}
}

// TestForwardMatchesGraph holds the plain-Go scoring pass (what serves a
// user) to the GoMLX graph the model trains through, for both decoders
// and for the meta-learned variant's inner steps.
func TestForwardMatchesGraph(t *testing.T) {
	b := testBackend(t)
	for _, arch := range [][2]int{{0, 0}, {6, 0}, {0, 2}} {
		dh, steps := arch[0], arch[1]
		c := Config{Hidden: 8, Latent: 4, DecoderHidden: dh, InnerSteps: steps, Domains: []string{"d"}, Items: []int{40}}
		rng := rand.New(rand.NewPCG(3, 4))
		vals := initValues(c.DomainVars(0), rng)
		if steps > 0 { // step sizes large enough to move the scores, and a support-size exponent
			for i := range vals[len(vals)-2] {
				vals[len(vals)-2][i] = 0.5 + float32(i)
			}
			vals[len(vals)-1][0] = 0.5
		}
		for _, v := range vals { // biases away from zero, so they are checked too
			for i := range v {
				v[i] += float32(rng.NormFloat64() * 0.1)
			}
		}
		s, err := newStepper(b, &c, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		net := c.newNet(0, vals)
		users := [][]int32{{1, 5, 9}, {39}, {0, 2, 4, 6, 8, 10, 12}}
		const l = 8
		idx := make([]int32, len(users)*l)
		w := make([]float32, len(users)*l)
		smask := make([]float32, len(users)*40)
		for r, u := range users {
			for j, it := range u {
				idx[r*l+j], w[r*l+j] = it, float32(1/math.Sqrt(float64(len(u))))
				smask[r*40+int(it)] = 1
			}
		}
		got, err := s.forward(vals, idx, w, smask, len(users), l)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, 40)
		for r, u := range users {
			set, wt, err := net.Input(u)
			if err != nil {
				t.Fatal(err)
			}
			net.Logits(set, wt, want)
			for i := range want {
				if d := math.Abs(float64(got[r*40+i] - want[i])); d > 1e-5 {
					t.Fatalf("decoder_hidden %d, inner steps %d, user %d, item %d: graph %g, plain Go %g", dh, steps, r, i, got[r*40+i], want[i])
				}
			}
		}
	}
}

// TestTrainLearnsGroups trains on users who each pick from one group of
// items: the network must rank a held-out user's group above the others
// from a few support items, which no popularity order can.
func TestTrainLearnsGroups(t *testing.T) {
	b := testBackend(t)
	const nItems, group, k = 60, 10, 5
	items := itemTable(nItems)
	train := clustered(300, nItems, group, k, split.Train, 1)
	valid := clustered(60, nItems, group, k, split.Valid, 2)
	res, err := Train(b, items, train, valid, smallOptions())
	if err != nil {
		t.Fatal(err)
	}
	first, best := res.Curve[0].ValidNDCG, 0.0
	for _, p := range res.Curve {
		best = math.Max(best, p.ValidNDCG)
	}
	t.Logf("validation NDCG@10 %.3f at the start, best %.3f at epoch %d", first, best, res.BestEpoch["d"])
	if best < first+0.2 || res.BestEpoch["d"] == 0 {
		t.Fatalf("validation NDCG@10 went from %.3f to at best %.3f (exported epoch %d): the network did not learn the groups", first, best, res.BestEpoch["d"])
	}
	m, err := NewModel("vae", res.Config, res.Weights)
	if err != nil {
		t.Fatal(err)
	}
	test := clustered(100, nItems, group, k, split.Test, 3)
	cands := make([]int32, nItems)
	for i := range cands {
		cands[i] = int32(i)
	}
	inGroup := 0
	for _, e := range test {
		sc, err := m.Score(0, e.Support, cands)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range e.Support {
			sc[x.Item] = float32(math.Inf(-1))
		}
		top := slices.Index(sc, slices.Max(sc))
		if top/group == int(e.Support[0].Item)/group {
			inGroup++
		}
	}
	t.Logf("top item in the user's group for %d of 100 new users", inGroup)
	if inGroup < 90 {
		t.Fatalf("the top item is in the user's group for %d of 100 new users, want at least 90", inGroup)
	}
}

// TestTrainDeterministic: the same seed gives bit-identical weights (DVC
// outputs must reproduce), another seed different ones.
func TestTrainDeterministic(t *testing.T) {
	b := testBackend(t)
	items := itemTable(40)
	train := clustered(100, 40, 10, 3, split.Train, 1)
	valid := clustered(20, 40, 10, 3, split.Valid, 2)
	o := smallOptions()
	o.Epochs, o.SupportK = 10, 3
	run := func(seed uint64) *models.Weights {
		o.Seed = seed
		r, err := Train(b, items, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		return r.Weights
	}
	a, c, d := run(1), run(1), run(2)
	for i := range a.Values {
		if !slices.Equal(a.Values[i], c.Values[i]) {
			t.Fatalf("seed 1 twice: %s differs", a.Specs[i].Name)
		}
	}
	if slices.Equal(a.Values[0], d.Values[0]) {
		t.Fatal("seeds 1 and 2 gave the same encoder")
	}
}

// TestTrainResumes: a run with a checkpoint folder leaves each finished
// domain there, and a second run with the same options resumes from it
// (it must not train again) and exports the same weights; other options
// train afresh.
func TestTrainResumes(t *testing.T) {
	b := testBackend(t)
	items := itemTable(40)
	train := clustered(100, 40, 10, 3, split.Train, 1)
	valid := clustered(20, 40, 10, 3, split.Valid, 2)
	o := smallOptions()
	o.Epochs, o.SupportK, o.CheckpointDir = 10, 3, t.TempDir()
	var log1, log2 strings.Builder
	o.Progress = &log1
	a, err := Train(b, items, train, valid, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Progress = &log2
	c, err := Train(b, items, train, valid, o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log2.String(), "resumed") || strings.Contains(log2.String(), "epoch") {
		t.Fatalf("the second run did not resume: %q", log2.String())
	}
	for i := range a.Weights.Values {
		if !slices.Equal(a.Weights.Values[i], c.Weights.Values[i]) {
			t.Fatalf("resumed %s differs from the trained one", a.Weights.Specs[i].Name)
		}
	}
	o.Seed++
	var log3 strings.Builder
	o.Progress = &log3
	if _, err := Train(b, items, train, valid, o); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log3.String(), "resumed") {
		t.Fatal("a run with another seed resumed from the first run's checkpoint")
	}
}

// TestExportRoundTrip: a saved model loads with the same scores; a
// catalogue that changed since training, a training user, and a bad item
// are refused.
func TestExportRoundTrip(t *testing.T) {
	c := Config{Hidden: 4, Latent: 3, DecoderHidden: 5, Domains: []string{"d"}, Items: []int{12}}
	w := &models.Weights{Specs: c.Vars(), Values: initValues(c.DomainVars(0), rand.New(rand.NewPCG(1, 2)))}
	dir := filepath.Join(t.TempDir(), "seed-1")
	if err := Save(dir, Header{Name: "vae", Config: c}, w, artifact.Lineage{Stage: "test"}); err != nil {
		t.Fatal(err)
	}
	if !IsExport(dir) {
		t.Fatal("IsExport does not recognise a saved Mult-VAE")
	}
	m, err := Load(dir, itemTable(12))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := NewModel("vae", c, w)
	sup := []tasks.Rated{{Item: 3}, {Item: 7}, {Item: 3}}
	cands := []int32{0, 5, 11}
	a, err := m.Score(0, sup, cands)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := orig.Score(0, sup, cands)
	if !slices.Equal(a, b) {
		t.Fatalf("loaded scores %v, saved model's %v", a, b)
	}
	if _, err := Load(dir, itemTable(13)); err == nil {
		t.Fatal("a model trained for 12 items loaded against 13")
	}
	if _, err := m.Score(0, []tasks.Rated{{Item: 12}}, cands); err == nil {
		t.Fatal("a support item outside the catalogue was scored")
	}
	if _, err := m.Score(1, sup, cands); err == nil {
		t.Fatal("an unknown domain was scored")
	}
	bad := &models.Weights{Specs: w.Specs, Values: slices.Clone(w.Values)}
	bad.Values[0] = slices.Clone(bad.Values[0])
	bad.Values[0][0] = float32(math.NaN())
	if err := Save(filepath.Join(t.TempDir(), "x"), Header{Name: "vae", Config: c}, bad, artifact.Lineage{}); err == nil {
		t.Fatal("weights with a NaN were saved")
	}
	// A user with no support is scored (the cold start), finitely.
	s0, err := m.Score(0, nil, cands)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range s0 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("empty support scored %v", s0)
		}
	}
}

// TestTrainRefusesHeldOutUsers: the trainer fits on meta-train episodes
// only.
func TestTrainRefusesHeldOutUsers(t *testing.T) {
	b := testBackend(t)
	train := clustered(20, 40, 10, 3, split.Test, 1)
	if _, err := Train(b, itemTable(40), train, nil, smallOptions()); err == nil {
		t.Fatal("trained on test episodes")
	}
}
