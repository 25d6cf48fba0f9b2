package models

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/tasks"
)

// Model is a trained model ready to serve: it adapts to a user's support
// ratings and scores items, on the normalised scale of tasks.Rated.Norm.
// It implements recommend.Scorer and recommend.CrossScorer and is safe for
// concurrent use.
//
// The item side does not depend on the user, so each domain's item
// vectors (and the item-only products of the head's first layer) are
// computed once, on first use; a request then runs one graph: the inner
// loop on the support set followed by the head over the candidates.
type Model struct {
	name    string
	cfg     Config
	cat     *Catalog
	backend backends.Backend
	vars    []*tensors.Tensor // all parameters, Config.Vars order
	specs   []VarSpec
	mu      []float32 // domain biases

	itemExec, serveExec *Exec

	mu_   sync.Mutex
	items map[int32]*domainItems
}

type domainItems struct {
	n        int
	x, h1, q []float32 // [n*ItemDim], [n*H1], [n*UserDim] (NCF)
	b        []float32 // [n]
	// The same as tensors, made once: a whole-catalogue request passes
	// them as they are instead of copying megabytes per request.
	full []*tensors.Tensor // x, h1, (q,) b with a leading axis of 1
	once sync.Once
	err  error
}

// NewModel builds a serving model from a config and weights over items.
func NewModel(name string, b backends.Backend, cfg Config, w *Weights, items *tasks.ItemTable) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkWeights(&cfg, w); err != nil {
		return nil, err
	}
	cat, err := NewCatalog(items, &cfg.Shape)
	if err != nil {
		return nil, err
	}
	m := &Model{name: name, cfg: cfg, cat: cat, backend: b, specs: cfg.Vars(), items: map[int32]*domainItems{}}
	for i, s := range m.specs {
		m.vars = append(m.vars, tensors.FromFlatDataAndDimensions(w.Values[i], s.Dims...))
	}
	m.mu = w.Values[slices.IndexFunc(m.specs, func(s VarSpec) bool { return s.Name == "domain_bias" })]
	if m.itemExec, err = NewExec(b, m.itemGraph); err != nil {
		return nil, err
	}
	if m.serveExec, err = NewExec(b, m.serveGraph); err != nil {
		return nil, err
	}
	m.itemExec.SetMaxCache(-1)
	m.serveExec.SetMaxCache(-1)
	return m, nil
}

// Concurrent tells the evaluation harness that Score may be called from
// several goroutines at once.
func (m *Model) Concurrent() bool { return true }

// Name implements recommend.Scorer.
func (m *Model) Name() string { return m.name }

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Catalog returns the item layout the model scores.
func (m *Model) Catalog() *Catalog { return m.cat }

func (m *Model) varsOf(in []*Node) Vars {
	v := Vars{}
	for i, s := range m.specs {
		v[s.Name] = in[i]
	}
	return v
}

// itemGraph: all parameters, then a [1,n] item block -> X, B, H1 (, Q).
func (m *Model) itemGraph(in []*Node) []*Node {
	nv := len(m.specs)
	v := m.varsOf(in)
	it, _, _ := SetFromNodes(append(in[nv:nv+6:nv+6], nil, nil))
	x, b := m.cfg.ItemTower(v, it)
	side := m.cfg.Project(v, ItemSide{X: x, B: b})
	out := []*Node{x, b, side.H1}
	if m.cfg.Arch == NCF {
		out = append(out, side.Q)
	}
	return out
}

// serveGraph: all parameters; support X, B, R, M; candidates X, H1, (Q,)
// B; domain bias mu [1]; user-vector offset [1,UserDim] -> predictions
// [1,M], the initial and the adapted user vector.
func (m *Model) serveGraph(in []*Node) []*Node {
	nv := len(m.specs)
	v := m.varsOf(in)
	k := nv
	s := SetNodes{X: in[k], B: in[k+1], R: in[k+2], M: in[k+3]}
	k += 4
	c := ItemSide{X: in[k], H1: in[k+1]}
	k += 2
	if m.cfg.Arch == NCF {
		c.Q = in[k]
		k++
	}
	c.B = in[k]
	mu, off := in[k+1], in[k+2]
	start, fast := m.cfg.AdaptUsers(v, s, mu, off, m.cfg.InnerSteps, true)
	return []*Node{m.cfg.Predict(v, fast, c, mu), start["u"], fast["u"]}
}

func (m *Model) domain(d int32) (*domainItems, error) {
	if d < 0 || int(d) >= len(m.cat.Items) {
		return nil, fmt.Errorf("%s: domain index %d out of range [0,%d)", m.name, d, len(m.cat.Items))
	}
	m.mu_.Lock()
	di := m.items[d]
	if di == nil {
		di = &domainItems{n: m.cat.Items[d]}
		m.items[d] = di
	}
	m.mu_.Unlock()
	di.once.Do(func() { di.err = m.computeItems(d, di) })
	return di, di.err
}

func (m *Model) computeItems(d int32, di *domainItems) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: item tower of domain %d: %v", m.name, d, r)
		}
	}()
	f := m.cat.NewItemFeats(1, di.n)
	for i := range di.n {
		m.cat.Set(f, 0, i, m.cat.ItemOff[d]+int32(i))
	}
	args := make([]any, 0, len(m.vars)+6)
	for _, t := range m.vars {
		args = append(args, t)
	}
	for _, t := range featTensors(f, m.cat.G, m.cat.C, m.cat.F) {
		args = append(args, t)
	}
	out, err := m.itemExec.Exec(args...)
	if err != nil {
		return err
	}
	di.x = tensors.MustCopyFlatData[float32](out[0])
	di.b = tensors.MustCopyFlatData[float32](out[1])
	di.h1 = tensors.MustCopyFlatData[float32](out[2])
	di.full = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(di.x, 1, di.n, m.cfg.ItemDim),
		tensors.FromFlatDataAndDimensions(di.h1, 1, di.n, m.cfg.Hidden[0])}
	if m.cfg.Arch == NCF {
		di.q = tensors.MustCopyFlatData[float32](out[3])
		di.full = append(di.full, tensors.FromFlatDataAndDimensions(di.q, 1, di.n, m.cfg.UserDim))
	}
	di.full = append(di.full, tensors.FromFlatDataAndDimensions(di.b, 1, di.n))
	return nil
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// padSize buckets a candidate count so few graph shapes are compiled.
func padSize(n int) int {
	p := 16
	for p < n {
		p *= 2
	}
	return p
}

// score adapts to support (with an optional user-vector offset) and
// scores candidates of domain d. It returns the scores and the user
// vector's displacement by adaptation (u_final - u_0, for ScoreCross).
func (m *Model) score(d int32, support []tasks.Rated, candidates []int32, offset []float32) (scores, moved []float32, err error) {
	di, err := m.domain(d)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range candidates {
		if c < 0 || int(c) >= di.n {
			return nil, nil, fmt.Errorf("%s: candidate item %d out of range for domain %s (%d items)", m.name, c, m.cat.Domains[d], di.n)
		}
	}
	D, H1, DU := m.cfg.ItemDim, m.cfg.Hidden[0], m.cfg.UserDim
	k := max(8, roundUp(len(support), 8))
	sx, sb, sr, sm := make([]float32, k*D), make([]float32, k), make([]float32, k), make([]float32, k)
	for j, r := range support {
		if r.Item < 0 || int(r.Item) >= di.n {
			return nil, nil, fmt.Errorf("%s: support item %d out of range for domain %s (%d items)", m.name, r.Item, m.cat.Domains[d], di.n)
		}
		copy(sx[j*D:(j+1)*D], di.x[int(r.Item)*D:])
		sb[j], sr[j], sm[j] = di.b[r.Item], r.Norm, 1
	}
	// A large candidate list scores the whole domain (one cached shape);
	// a small one is gathered and padded to a power of two.
	full := len(candidates) > di.n/4
	var cx, ch1, cq, cb []float32
	mc := di.n
	if !full {
		mc = padSize(len(candidates))
		cx, ch1, cb = make([]float32, mc*D), make([]float32, mc*H1), make([]float32, mc)
		if m.cfg.Arch == NCF {
			cq = make([]float32, mc*DU)
		}
		for j, c := range candidates {
			copy(cx[j*D:(j+1)*D], di.x[int(c)*D:])
			copy(ch1[j*H1:(j+1)*H1], di.h1[int(c)*H1:])
			if cq != nil {
				copy(cq[j*DU:(j+1)*DU], di.q[int(c)*DU:])
			}
			cb[j] = di.b[c]
		}
	}
	if offset == nil {
		offset = make([]float32, DU)
	}
	args := make([]any, 0, len(m.vars)+12)
	for _, t := range m.vars {
		args = append(args, t)
	}
	args = append(args,
		tensors.FromFlatDataAndDimensions(sx, 1, k, D), tensors.FromFlatDataAndDimensions(sb, 1, k),
		tensors.FromFlatDataAndDimensions(sr, 1, k), tensors.FromFlatDataAndDimensions(sm, 1, k))
	if full {
		for _, t := range di.full {
			args = append(args, t)
		}
	} else {
		args = append(args, tensors.FromFlatDataAndDimensions(cx, 1, mc, D), tensors.FromFlatDataAndDimensions(ch1, 1, mc, H1))
		if m.cfg.Arch == NCF {
			args = append(args, tensors.FromFlatDataAndDimensions(cq, 1, mc, DU))
		}
		args = append(args, tensors.FromFlatDataAndDimensions(cb, 1, mc))
	}
	args = append(args, tensors.FromFlatDataAndDimensions([]float32{m.mu[d]}, 1),
		tensors.FromFlatDataAndDimensions(offset, 1, DU))
	out, err := m.exec(args)
	if err != nil {
		return nil, nil, err
	}
	pred := tensors.MustCopyFlatData[float32](out[0])
	u0 := tensors.MustCopyFlatData[float32](out[1])
	u1 := tensors.MustCopyFlatData[float32](out[2])
	moved = make([]float32, DU)
	for i := range moved {
		moved[i] = u1[i] - u0[i] + offset[i]
	}
	scores = make([]float32, len(candidates))
	for j, c := range candidates {
		if full {
			scores[j] = pred[c]
		} else {
			scores[j] = pred[j]
		}
	}
	return scores, moved, nil
}

func (m *Model) exec(args []any) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", m.name, r)
		}
	}()
	return m.serveExec.Exec(args...)
}

// Score implements recommend.Scorer: adapt to support, score candidates.
func (m *Model) Score(domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	s, _, err := m.score(domain, support, candidates, nil)
	return s, err
}

// ScoreCross implements recommend.CrossScorer: the user is first adapted
// to their source-domain history; how far that moved the user vector from
// the initialisation is carried over as the starting offset in the target
// domain, where the user is adapted again on the target support. The
// user vector lives in one space for all domains (one head serves them
// all), which is what makes the carry-over meaningful.
func (m *Model) ScoreCross(sourceDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	var offset []float32
	if len(source) > 0 {
		_, moved, err := m.score(sourceDomain, source, []int32{source[0].Item}, nil)
		if err != nil {
			return nil, fmt.Errorf("source domain: %w", err)
		}
		offset = moved
	}
	s, _, err := m.score(domain, support, candidates, offset)
	return s, err
}

// Scored is one recommended item.
type Scored struct {
	Index int32   `json:"index"`
	ID    string  `json:"id"`
	Score float32 `json:"score"`
}

// Recommend adapts to a new user's ratings in a domain and returns the n
// best items of the whole catalogue, support items excluded, best first
// (ties by index, so the order is deterministic).
func (m *Model) Recommend(domain int32, support []tasks.Rated, n int, ids []string) ([]Scored, error) {
	if domain < 0 || int(domain) >= len(m.cat.Items) {
		return nil, fmt.Errorf("%s: domain index %d out of range", m.name, domain)
	}
	seen := map[int32]bool{}
	for _, s := range support {
		seen[s.Item] = true
	}
	cands := make([]int32, 0, m.cat.Items[domain])
	for i := range int32(m.cat.Items[domain]) {
		if !seen[i] {
			cands = append(cands, i)
		}
	}
	scores, err := m.Score(domain, support, cands)
	if err != nil {
		return nil, err
	}
	out := make([]Scored, len(cands))
	for j, c := range cands {
		out[j] = Scored{Index: c, Score: scores[j]}
		if int(c) < len(ids) {
			out[j].ID = ids[c]
		}
	}
	slices.SortFunc(out, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return out[:min(n, len(out))], nil
}
