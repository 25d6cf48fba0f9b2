package vae

import (
	"fmt"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Net is one domain's network on the host, row-major ([in, out]) tensors.
type Net struct {
	Items, Hidden, Latent, DecHidden int
	EncW, EncB, MuW, MuB, LvW, LvB   []float32
	DecW, DecB, OutW, OutB           []float32
	// Steps, Alpha and Pow are the adapting variants' steps of the latent
	// on the support (see adapt); Steps 0: none.
	Steps int
	Alpha []float32
	Pow   float32
}

// newNet wraps one domain's values, given in DomainVars order.
func (c *Config) newNet(d int, vals [][]float32) *Net {
	n := &Net{Items: c.Items[d], Hidden: c.At(d).Hidden, Latent: c.At(d).Latent, DecHidden: c.DecoderHidden}
	n.EncW, n.EncB, n.MuW, n.MuB, n.LvW, n.LvB = vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
	rest := vals[6:]
	if c.DecoderHidden > 0 {
		n.DecW, n.DecB, rest = rest[0], rest[1], rest[2:]
	}
	n.OutW, n.OutB = rest[0], rest[1]
	if c.InnerSteps > 0 {
		n.Steps, n.Alpha, n.Pow = c.InnerSteps, rest[2], rest[3][0]
	}
	return n
}

// Input is the encoder's input for a set of items: Mult-VAE normalises the
// binary item vector to unit length, so each distinct item weighs
// 1/sqrt(count). Duplicates count once; an item outside the catalogue is
// an error.
func (n *Net) Input(items []int32) ([]int32, float32, error) {
	set := slices.Clone(items)
	slices.Sort(set)
	set = slices.Compact(set)
	for _, it := range set {
		if it < 0 || int(it) >= n.Items {
			return nil, 0, fmt.Errorf("item %d outside the catalogue of %d items", it, n.Items)
		}
	}
	if len(set) == 0 {
		return set, 0, nil
	}
	return set, float32(1 / math.Sqrt(float64(len(set)))), nil
}

// Logits writes into out (length Items) the decoder's logits for a user
// with the given distinct items, each weighing w: the latent is the
// encoder's mean, as Mult-VAE predicts (no sampling).
func (n *Net) Logits(items []int32, w float32, out []float32) {
	h := slices.Clone(n.EncB)
	for _, it := range items {
		row := n.EncW[int(it)*n.Hidden:][:n.Hidden]
		for j, v := range row {
			h[j] += w * v
		}
	}
	tanh(h)
	mu := dense(h, n.MuW, n.MuB)
	n.adapt(mu, items, out)
	last := mu
	if n.DecHidden > 0 {
		last = dense(mu, n.DecW, n.DecB)
		tanh(last)
	}
	copy(out, n.OutB)
	for k, a := range last {
		if a == 0 {
			continue
		}
		row := n.OutW[k*n.Items:][:n.Items]
		for j, v := range row {
			out[j] += a * v
		}
	}
}

// adapt takes the adapting variants' gradient steps on the latent z (in
// place): each descends the support's mean multinomial negative
// log-likelihood, -1/k sum_{i in S} log softmax(W'z + b)_i, whose gradient
// in z is -W(x_S - k p)/k for p the softmax over the catalogue, scaled per
// dimension by Alpha k^Pow. scratch (length Items) holds the logits. The
// training graph (meta.go adaptLatent) writes the same step.
func (n *Net) adapt(z []float32, items []int32, scratch []float32) {
	if n.Steps == 0 || len(items) == 0 {
		return
	}
	k := float64(len(items))
	scale := math.Pow(k, float64(n.Pow)) / k
	p := make([]float64, n.Items)
	for range n.Steps {
		copy(scratch, n.OutB)
		for a, v := range z {
			row := n.OutW[a*n.Items:][:n.Items]
			for j, w := range row {
				scratch[j] += v * w
			}
		}
		top := math.Inf(-1)
		for _, v := range scratch {
			top = math.Max(top, float64(v))
		}
		sum := 0.0
		for j, v := range scratch {
			p[j] = math.Exp(float64(v) - top)
			sum += p[j]
		}
		for a := range z {
			row := n.OutW[a*n.Items:][:n.Items]
			g := 0.0
			for j, w := range row {
				g -= float64(w) * p[j]
			}
			g *= k / sum
			for _, it := range items {
				g += float64(row[it])
			}
			z[a] += n.Alpha[a] * float32(g*scale)
		}
	}
}

// dense is x·W + b for a row-major W of shape [len(x), len(b)].
func dense(x, w, b []float32) []float32 {
	out := slices.Clone(b)
	for k, a := range x {
		row := w[k*len(b):][:len(b)]
		for j, v := range row {
			out[j] += a * v
		}
	}
	return out
}

func tanh(x []float32) {
	for i, v := range x {
		x[i] = float32(math.Tanh(float64(v)))
	}
}

// Model is a trained Mult-VAE: one network per domain. It is a
// recommend.Scorer whose scores rank (they are logits of the multinomial
// over the catalogue, not ratings), safe for concurrent use.
type Model struct {
	name   string
	Config Config
	Nets   []*Net
}

// NewModel builds the scorer from exported weights.
func NewModel(name string, c Config, w *models.Weights) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	want := c.Vars()
	if len(w.Specs) != len(want) || len(w.Values) != len(want) {
		return nil, fmt.Errorf("multvae: %d parameters, the config has %d", len(w.Specs), len(want))
	}
	for i, s := range want {
		if w.Specs[i].Name != s.Name || !slices.Equal(w.Specs[i].Dims, s.Dims) || len(w.Values[i]) != s.Size() {
			return nil, fmt.Errorf("multvae: parameter %d is %s%v with %d values, the config wants %s%v", i, w.Specs[i].Name, w.Specs[i].Dims, len(w.Values[i]), s.Name, s.Dims)
		}
		for _, v := range w.Values[i] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("multvae: parameter %s holds a non-finite value", s.Name)
			}
		}
	}
	m := &Model{name: name, Config: c}
	at := 0
	for d := range c.Domains {
		nv := len(c.DomainVars(d))
		m.Nets = append(m.Nets, c.newNet(d, w.Values[at:at+nv]))
		at += nv
	}
	return m, nil
}

// Name implements recommend.Scorer.
func (m *Model) Name() string { return m.name }

// Ablations are the meta-learned variant's weights scored without a part
// (params evaluate.ablate): <name>-no-inner, the same weights with the
// inner loop off, so the latent is the encoder's alone; what the
// adaptation adds. A plain Mult-VAE has none.
func (m *Model) Ablations() ([]recommend.Scorer, error) {
	if m.Config.InnerSteps == 0 {
		return nil, fmt.Errorf("%s: a Mult-VAE without an inner loop has no ablation", m.name)
	}
	off := &Model{name: m.name + "-no-inner", Config: m.Config}
	off.Config.InnerSteps = 0
	for _, n := range m.Nets {
		c := *n
		c.Steps = 0
		off.Nets = append(off.Nets, &c)
	}
	return []recommend.Scorer{off}, nil
}

// RankingOnly tells the harness the scores are not predicted values: a
// Mult-VAE models which items a user picks, not how they rate them, so it
// reports ranking metrics and no rating error.
func (m *Model) RankingOnly() bool { return true }

// Concurrent tells the harness Score may run from several goroutines.
func (m *Model) Concurrent() bool { return true }

// Score implements recommend.Scorer: the support's items (their ratings
// unused: the model's input is the set of items a user picked) folded in by
// the encoder, the candidates scored by the decoder's logits. An empty
// support scores with the encoder's bias alone: the model's cold start.
func (m *Model) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	if domain < 0 || int(domain) >= len(m.Nets) {
		return nil, fmt.Errorf("%s: domain %d: the model has %d domains", m.name, domain, len(m.Nets))
	}
	n := m.Nets[domain]
	items := make([]int32, len(support))
	for i, x := range support {
		items[i] = x.Item
	}
	set, w, err := n.Input(items)
	if err != nil {
		return nil, fmt.Errorf("%s: %s support: %w", m.name, m.Config.Domains[domain], err)
	}
	logits := make([]float32, n.Items)
	n.Logits(set, w, logits)
	out := make([]float32, len(cands))
	for i, c := range cands {
		if c < 0 || int(c) >= n.Items {
			return nil, fmt.Errorf("%s: %s candidate %d outside the catalogue of %d items", m.name, m.Config.Domains[domain], c, n.Items)
		}
		out[i] = logits[c]
	}
	return out, nil
}
