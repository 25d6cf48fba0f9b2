package gnn

import (
	"fmt"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Arch is the architecture name in params (train.models.<name>.arch) and in
// an exported model's header.
const Arch = "lightgcn"

// Config is the architecture and the catalogue it was trained for.
type Config struct {
	Dim    int `json:"dim"`
	Layers int `json:"layers"`
	// Domains and Items name each domain and its catalogue size, in the
	// order of the task files' domains; Groups lists the domains trained as
	// one graph (their users are the same people).
	Domains []string `json:"domains"`
	Items   []int    `json:"items"`
	Groups  [][]int  `json:"groups"`
	// Priors, one per domain, are the fold-in's tuned weights (prior.go);
	// none (an export from before them, or the ablation) is the paper's
	// fold-in.
	Priors []Prior `json:"priors,omitempty"`
}

// Validate checks the widths, the catalogue and the groups.
func (c *Config) Validate() error {
	if c.Dim <= 0 || c.Layers <= 0 {
		return fmt.Errorf("lightgcn: dim (%d) and layers (%d) must be positive", c.Dim, c.Layers)
	}
	if len(c.Domains) == 0 || len(c.Domains) != len(c.Items) {
		return fmt.Errorf("lightgcn: %d domains and %d catalogue sizes", len(c.Domains), len(c.Items))
	}
	seen := make([]bool, len(c.Domains))
	for _, g := range c.Groups {
		for _, d := range g {
			if d < 0 || d >= len(c.Domains) || seen[d] {
				return fmt.Errorf("lightgcn: groups %v do not partition %d domains", c.Groups, len(c.Domains))
			}
			seen[d] = true
		}
	}
	if slices.Contains(seen, false) {
		return fmt.Errorf("lightgcn: groups %v leave a domain out", c.Groups)
	}
	if c.Priors != nil && len(c.Priors) != len(c.Domains) {
		return fmt.Errorf("lightgcn: %d priors for %d domains", len(c.Priors), len(c.Domains))
	}
	for d := range c.Priors {
		if err := c.Priors[d].validate(c.Domains[d]); err != nil {
			return err
		}
	}
	return nil
}

// Parameter names per domain, in the order of Vars.
const (
	ItemFinal  = "item_final"  // [items, dim]: the layer combination items are scored with
	ItemLayers = "item_layers" // [layers, items, dim]: Â^k E0 for k < layers, what a new user aggregates
	ItemDegree = "item_degree" // [items]: training degree in the group's graph
)

// Vars are every domain's exported tensors, named <domain>/<tensor>.
func (c *Config) Vars() []models.VarSpec {
	var out []models.VarSpec
	for d, dom := range c.Domains {
		n := c.Items[d]
		out = append(out,
			models.VarSpec{Name: dom + "/" + ItemFinal, Dims: []int{n, c.Dim}},
			models.VarSpec{Name: dom + "/" + ItemLayers, Dims: []int{c.Layers, n, c.Dim}},
			models.VarSpec{Name: dom + "/" + ItemDegree, Dims: []int{n}})
	}
	return out
}

// domainItems is one domain's exported item side.
type domainItems struct {
	final  []float32   // [items*dim]
	layers [][]float32 // per layer k < L: [items*dim]
	degree []float32
	group  int
}

// Model is a trained LightGCN: the item side of each group's graph. It is
// a recommend.CrossScorer (a Douban user's source-domain edges join their
// target support in the joint graph) whose scores rank, safe for
// concurrent use.
type Model struct {
	name   string
	Config Config
	dom    []domainItems
}

// NewModel builds the scorer from exported tensors.
func NewModel(name string, c Config, w *models.Weights) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	want := c.Vars()
	if len(w.Specs) != len(want) || len(w.Values) != len(want) {
		return nil, fmt.Errorf("lightgcn: %d tensors, the config has %d", len(w.Specs), len(want))
	}
	for i, s := range want {
		if w.Specs[i].Name != s.Name || !slices.Equal(w.Specs[i].Dims, s.Dims) || len(w.Values[i]) != s.Size() {
			return nil, fmt.Errorf("lightgcn: tensor %d is %s%v with %d values, the config wants %s%v", i, w.Specs[i].Name, w.Specs[i].Dims, len(w.Values[i]), s.Name, s.Dims)
		}
		for _, v := range w.Values[i] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || (i%3 == 2 && v < 0) {
				return nil, fmt.Errorf("lightgcn: tensor %s holds a non-finite (or negative degree) value", s.Name)
			}
		}
	}
	m := &Model{name: name, Config: c, dom: make([]domainItems, len(c.Domains))}
	for gi, g := range c.Groups {
		for _, d := range g {
			m.dom[d].group = gi
		}
	}
	for d := range c.Domains {
		n := c.Items[d] * c.Dim
		di := &m.dom[d]
		di.final = w.Values[3*d]
		for k := range c.Layers {
			di.layers = append(di.layers, w.Values[3*d+1][k*n:][:n])
		}
		di.degree = w.Values[3*d+2]
	}
	return m, nil
}

// Name implements recommend.Scorer.
func (m *Model) Name() string { return m.name }

// RankingOnly tells the harness the scores are not predicted values.
func (m *Model) RankingOnly() bool { return true }

// Concurrent tells the harness Score may run from several goroutines.
func (m *Model) Concurrent() bool { return true }

// edge is one of a new user's edges: an item of a group domain.
type edge struct {
	domain int32
	item   int32
}

// userVector embeds a new user from their edges as LightGCN propagates a
// node added to the trained graph: layer k+1 of the user is the sum over
// their items of layer k of the item, weighted 1/sqrt(|edges| (deg_i + 1))
// (the +1 is the user's own edge), and the user's embedding is the mean
// over layers 0..L with layer 0 (an ID row the user does not have) zero.
// Source-domain edges count with weight alpha, in the sum and in |edges|
// (alpha 1 is the paper's fold-in of all of a user's edges). The user's
// effect on the items' own layers is left out: that is the fold-in, not a
// retraining. A user with no weighted edge has no vector (nil).
func (m *Model) userVector(target, source []edge, alpha float64) []float32 {
	count := float64(len(target)) + alpha*float64(len(source))
	if count == 0 {
		return nil
	}
	dim, l := m.Config.Dim, m.Config.Layers
	u := make([]float32, dim)
	norm := 1 / math.Sqrt(count)
	add := func(edges []edge, a float64) {
		for _, e := range edges {
			di := &m.dom[e.domain]
			w := float32(a * norm / math.Sqrt(float64(di.degree[e.item])+1) / float64(l+1))
			for k := range l {
				row := di.layers[k][int(e.item)*dim:][:dim]
				for j, v := range row {
					u[j] += w * v
				}
			}
		}
	}
	add(target, 1)
	if alpha != 0 {
		add(source, alpha)
	}
	return u
}

// edges checks and deduplicates a new user's items of one domain.
func (m *Model) edges(out []edge, domain int32, set []tasks.Rated) ([]edge, error) {
	n := m.Config.Items[domain]
	for _, x := range set {
		if x.Item < 0 || int(x.Item) >= n {
			return nil, fmt.Errorf("%s: %s item %d outside the catalogue of %d items", m.name, m.Config.Domains[domain], x.Item, n)
		}
		e := edge{domain, x.Item}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// score ranks candidates of domain by the dot product with the user's
// vector plus the domain prior's weight on log(1 + training degree); a
// user with no edge (the pure cold start) is ranked by the degree alone,
// the only thing the graph knows about the items.
func (m *Model) score(target, source []edge, cross bool, domain int32, cands []int32) ([]float32, error) {
	di := &m.dom[domain]
	out := make([]float32, len(cands))
	n, dim := m.Config.Items[domain], m.Config.Dim
	var prior *Prior
	if m.Config.Priors != nil {
		prior = &m.Config.Priors[domain]
	}
	alpha, gamma := prior.weights(len(target), cross)
	u := m.userVector(target, source, alpha)
	for i, c := range cands {
		if c < 0 || int(c) >= n {
			return nil, fmt.Errorf("%s: %s candidate %d outside the catalogue of %d items", m.name, m.Config.Domains[domain], c, n)
		}
		logDeg := math.Log1p(float64(di.degree[c]))
		if u == nil {
			out[i] = float32(logDeg)
			continue
		}
		var s float32
		for j, v := range di.final[int(c)*dim:][:dim] {
			s += u[j] * v
		}
		out[i] = float32(float64(s) + gamma*logDeg)
	}
	return out, nil
}

func (m *Model) checkDomain(d int32) error {
	if d < 0 || int(d) >= len(m.dom) {
		return fmt.Errorf("%s: domain %d: the model has %d domains", m.name, d, len(m.dom))
	}
	return nil
}

// Score implements recommend.Scorer: the support's items (their ratings
// unused: the graph's edges are interactions) folded in.
func (m *Model) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	if err := m.checkDomain(domain); err != nil {
		return nil, err
	}
	e, err := m.edges(nil, domain, support)
	if err != nil {
		return nil, err
	}
	return m.score(e, nil, false, domain, cands)
}

// ScoreCross implements recommend.CrossScorer: the user's source-domain
// history joins their target support as edges of the joint graph when the
// two domains were trained as one group; otherwise the source cannot reach
// the target's items and the user is scored by the support alone.
func (m *Model) ScoreCross(sourceDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	if err := m.checkDomain(domain); err != nil {
		return nil, err
	}
	if err := m.checkDomain(sourceDomain); err != nil {
		return nil, err
	}
	e, err := m.edges(nil, domain, support)
	if err != nil {
		return nil, err
	}
	if m.dom[sourceDomain].group != m.dom[domain].group || sourceDomain == domain {
		return m.score(e, nil, false, domain, cands)
	}
	src, err := m.edges(nil, sourceDomain, source)
	if err != nil {
		return nil, err
	}
	return m.score(e, src, true, domain, cands)
}

// Ablations are the same weights without the tuned prior (prior.go): the
// paper's fold-in, every edge weighted alike and no degree term.
func (m *Model) Ablations() ([]recommend.Scorer, error) {
	if m.Config.Priors == nil {
		return nil, fmt.Errorf("%s: a LightGCN without a tuned prior has no ablation", m.name)
	}
	off := *m
	off.name = m.name + "-no-prior"
	off.Config.Priors = nil
	return []recommend.Scorer{&off}, nil
}
