package models

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/synth"
	"github.com/crossrec/crossrec/lib/tasks"
)

func testConfig(t *testing.T, arch string, items *tasks.ItemTable) Config {
	cat, err := NewCatalog(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Config{Arch: arch, ItemDim: 4, UserDim: 3, Hidden: [2]int{5, 4}, Encoder: true, Adapt: []string{GroupLast},
		InnerSteps: 2, InnerLR: 0.2, LearnInnerLR: true, Shape: cat.Shape()}
}

func TestCatalogLayout(t *testing.T) {
	items := synth.Items(1, 7, 5)
	c, err := NewCatalog(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.NItems != 12 || c.ItemOff[1] != 7 {
		t.Fatalf("items %d, offset of domain 1 %d; want 12 and 7", c.NItems, c.ItemOff[1])
	}
	row, err := c.Global(1, 3)
	if err != nil || row != 10 {
		t.Fatalf("Global(1,3) = %d, %v; want 10", row, err)
	}
	if _, err := c.Global(1, 5); err == nil {
		t.Fatal("item 5 of a 5-item domain: want an error")
	}
	f := c.NewItemFeats(1, 1)
	c.Set(f, 0, 0, row)
	// Genre weights: 1/count on the item's real genres, 0 on padding.
	var sum float32
	for k, g := range items.Domains[1].GenreIdx[3*3 : 4*3] {
		w := f.GenreW[k]
		if (g == 0) != (w == 0) {
			t.Fatalf("slot %d: genre %d has weight %g", k, g, w)
		}
		if g != 0 && f.Genre[k] != c.GenreOff[1]+g {
			t.Fatalf("slot %d: global genre %d, want %d", k, f.Genre[k], c.GenreOff[1]+g)
		}
		sum += w
	}
	if math.Abs(float64(sum-1)) > 1e-6 {
		t.Fatalf("genre weights sum to %g, want 1", sum)
	}
}

func newTestModel(t *testing.T, arch string) (*Model, *tasks.ItemTable, *Weights) {
	items := synth.Items(1, 40, 30)
	cfg := testConfig(t, arch, items)
	w := cfg.Init(3)
	b, err := backends.NewWithConfig("go:parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel("test-"+arch, b, cfg, w, items)
	if err != nil {
		t.Fatal(err)
	}
	return m, items, w
}

func TestScoreAdaptsAndIsConsistent(t *testing.T) {
	for _, arch := range []string{FCNN, NCF} {
		m, items, _ := newTestModel(t, arch)
		eps := synth.Episodes(2, items, 1, 5, 5)
		e := eps[0]
		all := make([]int32, 40)
		for i := range all {
			all[i] = int32(i)
		}
		full, err := m.Score(0, e.Support, all)
		if err != nil {
			t.Fatal(err)
		}
		// A small candidate list takes the gathered path: same scores.
		few := []int32{3, 17, 39}
		part, err := m.Score(0, e.Support, few)
		if err != nil {
			t.Fatal(err)
		}
		for j, c := range few {
			if math.Abs(float64(part[j]-full[c])) > 1e-5 {
				t.Fatalf("%s: item %d scored %g alone, %g in the full catalogue", arch, c, part[j], full[c])
			}
		}
		// The support changes the scores (the user state is adapted).
		cold, err := m.Score(0, nil, all)
		if err != nil {
			t.Fatal(err)
		}
		same := true
		for i := range cold {
			if math.IsNaN(float64(cold[i])) {
				t.Fatalf("%s: NaN score", arch)
			}
			if math.Abs(float64(cold[i]-full[i])) > 1e-7 {
				same = false
			}
		}
		if same {
			t.Fatalf("%s: scores with and without support are identical", arch)
		}
		if _, err := m.Score(0, e.Support, []int32{40}); err == nil {
			t.Fatalf("%s: out-of-range candidate: want an error", arch)
		}
		if _, err := m.Score(2, e.Support, few); err == nil {
			t.Fatalf("%s: out-of-range domain: want an error", arch)
		}
		var _ recommend.CrossScorer = m
		cross, err := m.ScoreCross(1, eps[len(eps)-1].Support, 0, e.Support, few)
		if err != nil || len(cross) != len(few) {
			t.Fatalf("%s: ScoreCross: %v", arch, err)
		}
	}
}

func TestRecommendExcludesSupportAndSorts(t *testing.T) {
	m, items, _ := newTestModel(t, NCF)
	e := synth.Episodes(2, items, 1, 5, 5)[0]
	got, err := m.Recommend(0, e.Support, 10, items.Domains[0].IDs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("%d recommendations, want 10", len(got))
	}
	for i, r := range got {
		for _, s := range e.Support {
			if r.Index == s.Item {
				t.Fatalf("support item %d recommended", s.Item)
			}
		}
		if i > 0 && r.Score > got[i-1].Score {
			t.Fatalf("not sorted at %d", i)
		}
		if r.ID != items.Domains[0].IDs[r.Index] {
			t.Fatalf("id %q for index %d", r.ID, r.Index)
		}
	}
}

func TestExportIsDeterministicAndLoads(t *testing.T) {
	items := synth.Items(1, 40, 30)
	cfg := testConfig(t, NCF, items)
	w := cfg.Init(3)
	l := artifact.Lineage{Stage: "train@test", Inputs: map[string]string{"x": "y"}}
	d1, d2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{d1, d2} {
		if err := Save(d, Header{Name: "test", Config: cfg}, w, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{WeightsFile, HeaderFile} {
		a, _ := os.ReadFile(filepath.Join(d1, f))
		b, _ := os.ReadFile(filepath.Join(d2, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two saves of the same weights", f)
		}
	}
	h, w2, err := ReadExport(d1)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "test" || len(w2.Values) != len(w.Values) {
		t.Fatalf("read back %q with %d tensors", h.Name, len(w2.Values))
	}
	for i := range w.Values {
		for j := range w.Values[i] {
			if w.Values[i][j] != w2.Values[i][j] {
				t.Fatalf("%s[%d] changed in the round trip", w.Specs[i].Name, j)
			}
		}
	}
	sc, err := Load(d1, items)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name() != "test" {
		t.Fatalf("name %q", sc.Name())
	}
	// Seed folders: one seed loads through the parent, two are refused.
	parent := t.TempDir()
	for _, s := range []string{"seed-1", "seed-2"} {
		if err := Save(filepath.Join(parent, s), Header{Name: "test", Config: cfg}, w, l); err != nil {
			t.Fatal(err)
		}
		_, err := Load(parent, items)
		if s == "seed-1" && err != nil {
			t.Fatalf("one seed: %v", err)
		}
		if s == "seed-2" && (err == nil || !strings.Contains(err.Error(), "seed-1, seed-2")) {
			t.Fatalf("two seeds: want an error naming them, got %v", err)
		}
	}
	// A different catalogue does not fit the model.
	if _, err := Load(d1, synth.Items(1, 41, 30)); err == nil {
		t.Fatal("loading against a catalogue of another size: want an error")
	}
	// A tampered weights file is detected.
	wf := filepath.Join(d2, WeightsFile)
	b, _ := os.ReadFile(wf)
	b[len(b)/2] ^= 0xff
	os.WriteFile(wf, b, 0o644)
	if _, err := Load(d2, items); err == nil {
		t.Fatal("tampered weights: want an error")
	}
	if _, err := Load(t.TempDir(), items); err == nil {
		t.Fatal("empty folder: want an error")
	}
}

// TestServingMatchesGraph: the plain-Go forward pass the scorer runs over
// the catalogue gives what the GoMLX graph of the same model (the one
// training optimises) gives, for both heads, with and without the hidden
// layers adapted, with and without the ranking score.
func TestServingMatchesGraph(t *testing.T) {
	items := synth.Items(1, 40, 30)
	e := synth.Episodes(2, items, 1, 6, 5)[0]
	b, err := backends.NewWithConfig("go:parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	cands := []int32{0, 3, 17, 39, 22}
	for _, arch := range []string{FCNN, NCF} {
		for _, adapt := range [][]string{{GroupLast}, {GroupLast, GroupHead}} {
			// Without a ranking score, and ranked by the fitted or the
			// content score.
			for _, ranking := range []string{"", "fit", "content"} {
				rank := ranking != ""
				cfg := testConfig(t, arch, items)
				cfg.Adapt, cfg.Rank, cfg.RankWeight = adapt, rank, 1
				w := cfg.Init(5)
				// Non-zero output layer and biases and a domain scale
				// other than 1, so every term counts.
				for i, s := range w.Specs {
					for j := range w.Values[i] {
						switch {
						case s.Name == "domain_scale":
							w.Values[i][j] = 0.6 + 0.1*float32(j)
						case s.Name == "rank_gate":
							w.Values[i][j] = map[bool]float32{false: 0, true: 1}[ranking == "content"]
						case s.Init == "zero":
							w.Values[i][j] = float32(j%7-3) * 0.03
						}
					}
				}
				m, err := NewModel("t", b, cfg, w, items)
				if err != nil {
					t.Fatal(err)
				}
				pred, rk, err := m.ScoreRank(0, e.Support, cands)
				if err != nil {
					t.Fatal(err)
				}
				cat := m.Catalog()
				sup, cs := cat.NewSet(1, len(e.Support)), cat.NewSet(1, len(cands))
				if err := cat.Fill(sup, 0, 0, e.Support); err != nil {
					t.Fatal(err)
				}
				rows := make([]tasks.Rated, len(cands))
				for j, c := range cands {
					rows[j] = tasks.Rated{Item: c}
				}
				if err := cat.Fill(cs, 0, 0, rows); err != nil {
					t.Fatal(err)
				}
				nv := len(cfg.Vars())
				exec, err := NewExec(b, func(in []*Node) []*Node {
					v := Vars{}
					for i, s := range cfg.Vars() {
						v[s.Name] = in[i]
					}
					sItems, sR, sM := SetFromNodes(in[nv : nv+SetInputs])
					cItems, _, _ := SetFromNodes(in[nv+SetInputs : nv+2*SetInputs])
					dom := in[nv+2*SetInputs]
					dm := cfg.Domain(v, dom)
					sx, sb := cfg.ItemTower(v, sItems)
					cx, cb := cfg.ItemTower(v, cItems)
					s := SetNodes{X: sx, B: sb, R: sR, M: sM, Dom: dom}
					_, fast := cfg.AdaptUsers(v, s, dm, nil, cfg.InnerSteps, true)
					p := cfg.Predict(v, fast, ItemSide{X: cx, B: cb}, dm)
					if !rank {
						return []*Node{p, p}
					}
					taste := cfg.Taste(v, s, cfg.RankItems(v, sItems, sx), dm.Mu)
					return []*Node{p, cfg.RankScore(v, dom, cfg.RankItems(v, cItems, cx), taste, p)}
				})
				if err != nil {
					t.Fatal(err)
				}
				args := []any{}
				for i, s := range cfg.Vars() {
					args = append(args, tensors.FromFlatDataAndDimensions(w.Values[i], s.Dims...))
				}
				for _, x := range append(cat.Tensors(sup), cat.Tensors(cs)...) {
					args = append(args, x)
				}
				args = append(args, tensors.FromFlatDataAndDimensions([]int32{0}, 1))
				out, err := exec.Exec(args...)
				if err != nil {
					t.Fatal(err)
				}
				gp, gr := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
				for j := range cands {
					if math.Abs(float64(gp[j]-pred[j])) > 1e-5 || math.Abs(float64(gr[j]-rk[j])) > 1e-5 {
						t.Fatalf("%s adapt=%v ranking=%q: item %d: serving (%g, %g), graph (%g, %g)", arch, adapt, ranking, cands[j], pred[j], rk[j], gp[j], gr[j])
					}
				}
				if !rank && !slices.Equal(pred, rk) {
					t.Fatalf("%s: without a ranking score the ranking must be the prediction", arch)
				}
			}
		}
	}
}
