package models

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/tasks"
)

// Model is a trained model ready to serve: it adapts to a user's support
// ratings and scores items, on the normalised scale of tasks.Rated.Norm.
// It implements recommend.Scorer, CrossScorer, Ranker and CrossRanker and
// is safe for concurrent use.
//
// A request is split where the work is. Adaptation (the user
// initialisation and the inner gradient steps on the support set, the
// part meta-learning shaped) is one GoMLX graph over the K support items.
// Scoring the catalogue is the head's forward pass over every item with
// the adapted user state; the item side of it (item vectors, their
// products with the head's first layer) does not depend on the user and
// is computed once per domain, by a GoMLX graph, on first use. What is
// left per item is a few hundred multiply-adds, which run in plain Go
// (headScorer): on the pure-Go backend a graph spent most of a request on
// broadcasting adds and re-laying out the [items x hidden] operand. With a
// 32-16 head and 10,000 items a request took 25 ms with the head in the
// graph and 8-13 ms with it here, of which 3-6 ms is the adaptation graph
// (BenchmarkScore, BenchmarkAdaptOnly; 2 cores). Tests check the Go pass
// against the graph's Head to float32 rounding.
type Model struct {
	name    string
	cfg     Config
	cat     *Catalog
	backend backends.Backend
	vars    []*tensors.Tensor // all parameters, Config.Vars order
	specs   []VarSpec
	host    map[string][]float32 // the same parameters on the host
	fast    []string             // adapted tensors, Config.FastNames order

	itemExec, adaptExec *Exec

	mu_   sync.Mutex
	items map[int32]*domainItems
	table *tasks.ItemTable // what the model was built over (ablations rebuild on it)
}

// domainItems is a domain's item side, computed once.
type domainItems struct {
	n      int
	x, h1  []float32 // [n*ItemDim], [n*H1] (x·h1_x)
	q      []float32 // [n*UserDim] (x·gmf_q; NCF)
	b      []float32 // [n] item biases
	z, pop []float32 // ranking vectors [n*ItemDim] and popularity logits [n] of the domain's ranking source (Config.Rank)
	once   sync.Once
	err    error
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
	m := &Model{name: name, cfg: cfg, cat: cat, backend: b, specs: cfg.Vars(), host: map[string][]float32{},
		fast: cfg.FastNames(), items: map[int32]*domainItems{}, table: items}
	for i, s := range m.specs {
		m.vars = append(m.vars, tensors.FromFlatDataAndDimensions(w.Values[i], s.Dims...))
		m.host[s.Name] = w.Values[i]
	}
	if m.itemExec, err = NewExec(b, m.itemGraph); err != nil {
		return nil, err
	}
	if m.adaptExec, err = NewExec(b, m.adaptGraph); err != nil {
		return nil, err
	}
	m.itemExec.SetMaxCache(-1)
	m.adaptExec.SetMaxCache(-1)
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

// itemGraph: all parameters, then a [1,n] item block -> X, B, H1 (, Q)
// (, the ranking inputs: fitted Z and Pop, content Z and Pop).
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
	if m.cfg.Rank {
		r := m.cfg.RankItems(v, it, x)
		out = append(out, r.FitZ, r.FitPop, r.ContentZ, r.ContentPop)
	}
	return out
}

// adaptGraph: all parameters; support X, B, R, M (, Z); domain index [1]
// int32; user-vector offset [1,UserDim] -> the initial user vector, the
// adapted tensors (FastNames order, each with a leading axis of 1) and,
// with Config.Rank, the taste vector of the domain's ranking source (Z is
// that source's ranking vectors, domainItems.z).
func (m *Model) adaptGraph(in []*Node) []*Node {
	nv := len(m.specs)
	v := m.varsOf(in)
	k := nv
	s := SetNodes{X: in[k], B: in[k+1], R: in[k+2], M: in[k+3]}
	k += 4
	var z *Node
	if m.cfg.Rank {
		z = in[k]
		k++
	}
	s.Dom = in[k]
	off := in[k+1]
	dm := m.cfg.Domain(v, s.Dom)
	start, fast := m.cfg.AdaptUsers(v, s, dm, off, m.cfg.InnerSteps, true)
	out := []*Node{start["u"]}
	for _, n := range m.fast {
		out = append(out, fast[n])
	}
	if m.cfg.Rank {
		t := m.cfg.Taste(v, s, RankSide{FitZ: z, ContentZ: z}, dm.Mu)
		g := InsertAxes(gatherRows(v["rank_gate"], s.Dom), -1)
		out = append(out, Add(Mul(g, t.Content), Mul(OneMinus(g), t.Fit)))
	}
	return out
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
	flat := func() []float32 {
		x := tensors.MustCopyFlatData[float32](out[0])
		out = out[1:]
		return x
	}
	di.x, di.b, di.h1 = flat(), flat(), flat()
	if m.cfg.Arch == NCF {
		di.q = flat()
	}
	if m.cfg.Rank {
		fz, fp, cz, cp := flat(), flat(), flat(), flat()
		di.z, di.pop = fz, fp
		if m.contentRanked(d) {
			di.z, di.pop = cz, cp
		}
	}
	return nil
}

// contentRanked reports whether domain d is ranked by the content score
// (it had no training users; Config.RankScore).
func (m *Model) contentRanked(d int32) bool {
	return m.host["rank_gate"][d] > 0.5
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// adapted is one user's state after adaptation.
type adapted struct {
	moved []float32            // u_final - u_0 + offset (carried to another domain by ScoreCross)
	fast  map[string][]float32 // adapted tensors, without the leading axis
	taste []float32            // ranking vector (Config.Rank)
}

// adapt runs the adaptation graph on a support set of domain d, starting
// from the user-vector offset (nil: none).
func (m *Model) adapt(d int32, di *domainItems, support []tasks.Rated, offset []float32) (a *adapted, err error) {
	D, DU := m.cfg.ItemDim, m.cfg.UserDim
	k := max(8, roundUp(len(support), 8)) // few shapes, few compilations
	sx, sb, sr, sm := make([]float32, k*D), make([]float32, k), make([]float32, k), make([]float32, k)
	var sz []float32
	if m.cfg.Rank {
		sz = make([]float32, k*D)
	}
	for j, r := range support {
		if r.Item < 0 || int(r.Item) >= di.n {
			return nil, fmt.Errorf("%s: support item %d out of range for domain %s (%d items)", m.name, r.Item, m.cat.Domains[d], di.n)
		}
		copy(sx[j*D:(j+1)*D], di.x[int(r.Item)*D:])
		if sz != nil {
			copy(sz[j*D:(j+1)*D], di.z[int(r.Item)*D:])
		}
		sb[j], sr[j], sm[j] = di.b[r.Item], r.Norm, 1
	}
	if offset == nil {
		offset = make([]float32, DU)
	}
	args := make([]any, 0, len(m.vars)+7)
	for _, t := range m.vars {
		args = append(args, t)
	}
	args = append(args,
		tensors.FromFlatDataAndDimensions(sx, 1, k, D), tensors.FromFlatDataAndDimensions(sb, 1, k),
		tensors.FromFlatDataAndDimensions(sr, 1, k), tensors.FromFlatDataAndDimensions(sm, 1, k))
	if sz != nil {
		args = append(args, tensors.FromFlatDataAndDimensions(sz, 1, k, D))
	}
	args = append(args, tensors.FromFlatDataAndDimensions([]int32{d}, 1),
		tensors.FromFlatDataAndDimensions(offset, 1, DU))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: adaptation: %v", m.name, r)
		}
	}()
	out, err := m.adaptExec.Exec(args...)
	if err != nil {
		return nil, err
	}
	u0 := tensors.MustCopyFlatData[float32](out[0])
	a = &adapted{fast: map[string][]float32{}}
	for i, n := range m.fast {
		a.fast[n] = tensors.MustCopyFlatData[float32](out[1+i])
	}
	if m.cfg.Rank {
		a.taste = tensors.MustCopyFlatData[float32](out[1+len(m.fast)])
	}
	a.moved = make([]float32, DU)
	for i := range a.moved {
		a.moved[i] = a.fast["u"][i] - u0[i] + offset[i]
	}
	return a, nil
}

// weight is a parameter as the adapted user sees it: the adapted value
// when the inner loop adapts it, else the shared one.
func (m *Model) weight(a *adapted, name string) []float32 {
	if v, ok := a.fast[name]; ok {
		return v
	}
	return m.host[name]
}

// headScorer is the head's forward pass for one adapted user, in plain Go:
// Config.Head and Config.RankScore for one item at a time, with everything
// that depends on the user alone folded in once.
type headScorer struct {
	d, du, h1, h2 int
	ncf, rank     bool
	hu            []float32 // u·h1_u + h1_b [H1]
	h1x, gq       []float32 // h1_x [D*H1] and gmf_q [D*DU] when adapted per user, else nil (precomputed per item)
	w2            []float32 // h2_w [H1*H2]
	b2, outW      []float32
	g             []float32 // u ⊙ out_g [DU] (NCF)
	c             float32   // scale·out_b + b_u + domain bias + shift
	taste         []float32
	beta          float32
}

func (m *Model) headScorer(d int32, a *adapted) *headScorer {
	c := &m.cfg
	h := &headScorer{d: c.ItemDim, du: c.UserDim, h1: c.Hidden[0], h2: c.Hidden[1], ncf: c.Arch == NCF, rank: c.Rank}
	u := m.weight(a, "u")
	h1u, h1b := m.weight(a, "h1_u"), m.weight(a, "h1_b")
	h.hu = make([]float32, h.h1)
	for j := range h.h1 {
		s := h1b[j]
		for i := range h.du {
			s += u[i] * h1u[i*h.h1+j]
		}
		h.hu[j] = s
	}
	if _, ok := a.fast["h1_x"]; ok {
		h.h1x = a.fast["h1_x"]
	}
	h.w2 = m.weight(a, "h2_w")
	// The domain's scale multiplies the network's output (Config.Head):
	// folded into the output weights and out_b once per user.
	scale := m.host["domain_scale"][d]
	h.b2 = m.weight(a, "h2_b")
	h.outW = make([]float32, h.h2)
	for k, w := range m.weight(a, "out_w") {
		h.outW[k] = scale * w
	}
	h.c = scale*m.weight(a, "out_b")[0] + a.fast["bu"][0] + m.host["domain_bias"][d] + m.host["domain_shift"][d]
	if h.ncf {
		if _, ok := a.fast["gmf_q"]; ok {
			h.gq = a.fast["gmf_q"]
		}
		og := m.weight(a, "out_g")
		h.g = make([]float32, h.du)
		for i := range h.du {
			h.g[i] = scale * u[i] * og[i]
		}
	}
	if h.rank {
		h.taste, h.beta = a.taste, 1
		if m.contentRanked(d) {
			h.beta = m.host["rank_beta"][0]
		}
	}
	return h
}

// score writes the prediction and ranking score of every candidate.
func (h *headScorer) score(di *domainItems, cands []int32, pred, rank []float32) {
	act, acc := make([]float32, h.h1), make([]float32, h.h2)
	for n, c := range cands {
		i := int(c)
		x := di.x[i*h.d : (i+1)*h.d]
		if h.h1x == nil {
			pre := di.h1[i*h.h1 : (i+1)*h.h1]
			for j := range act {
				act[j] = pre[j] + h.hu[j]
			}
		} else {
			for j := range act {
				act[j] = h.hu[j]
			}
			for k, xv := range x {
				row := h.h1x[k*h.h1 : (k+1)*h.h1]
				for j := range act {
					act[j] += xv * row[j]
				}
			}
		}
		// Second layer as a sum of rows of h2_w, skipping the units the
		// ReLU zeroed (about half of them).
		for k := range acc {
			acc[k] = h.b2[k]
		}
		for j, v := range act {
			if v <= 0 {
				continue
			}
			row := h.w2[j*h.h2 : (j+1)*h.h2]
			for k := range acc {
				acc[k] += v * row[k]
			}
		}
		out := h.c + di.b[i]
		for k, s := range acc {
			if s > 0 {
				out += s * h.outW[k]
			}
		}
		if h.ncf {
			if h.gq == nil {
				out += dot(di.q[i*h.du:(i+1)*h.du], h.g)
			} else {
				for k, xv := range x {
					row := h.gq[k*h.du : (k+1)*h.du]
					var s float32
					for j, v := range row {
						s += v * h.g[j]
					}
					out += xv * s
				}
			}
		}
		pred[n] = out
		if h.rank {
			rank[n] = di.pop[i] + h.beta*out + dot(di.z[i*h.d:(i+1)*h.d], h.taste)
		} else {
			rank[n] = out
		}
	}
}

// dot is the inner product of two equally long vectors, with four
// accumulators so the additions do not wait on each other.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// parallelFrom is the candidate count from which a request's scoring is
// split across cores; below it the goroutines cost more than they save.
const parallelFrom = 4096

// score adapts to support (from an optional user-vector offset) and
// scores candidates of domain d: predicted values and ranking scores (the
// same slice without Config.Rank).
func (m *Model) score(d int32, support []tasks.Rated, candidates []int32, offset []float32) (pred, rank []float32, err error) {
	di, err := m.domain(d)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range candidates {
		if c < 0 || int(c) >= di.n {
			return nil, nil, fmt.Errorf("%s: candidate item %d out of range for domain %s (%d items)", m.name, c, m.cat.Domains[d], di.n)
		}
	}
	a, err := m.adapt(d, di, support, offset)
	if err != nil {
		return nil, nil, err
	}
	h := m.headScorer(d, a)
	pred = make([]float32, len(candidates))
	rank = pred
	if m.cfg.Rank {
		rank = make([]float32, len(candidates))
	}
	workers := 1
	if len(candidates) >= parallelFrom {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(candidates)/workers, (w+1)*len(candidates)/workers
		wg.Go(func() {
			h.score(di, candidates[lo:hi], pred[lo:hi], rank[lo:hi])
		})
	}
	wg.Wait()
	return pred, rank, nil
}

// Score implements recommend.Scorer: adapt to support, predict candidates.
func (m *Model) Score(domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	p, _, err := m.score(domain, support, candidates, nil)
	return p, err
}

// ScoreRank implements recommend.Ranker: predictions and ranking scores
// (equal without Config.Rank).
func (m *Model) ScoreRank(domain int32, support []tasks.Rated, candidates []int32) (pred, rank []float32, err error) {
	return m.score(domain, support, candidates, nil)
}

// ScoreCross implements recommend.CrossScorer: the user is first adapted
// to their source-domain history; how far that moved the user vector from
// the initialisation is carried over as the starting offset in the target
// domain, where the user is adapted again on the target support. The
// user vector lives in one space for all domains (one head serves them
// all), which is what makes the carry-over meaningful.
func (m *Model) ScoreCross(sourceDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	p, _, err := m.ScoreCrossRank(sourceDomain, source, domain, support, candidates)
	return p, err
}

// ScoreCrossRank implements recommend.CrossRanker.
func (m *Model) ScoreCrossRank(sourceDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, candidates []int32) (pred, rank []float32, err error) {
	var offset []float32
	if len(source) > 0 {
		sd, err := m.domain(sourceDomain)
		if err != nil {
			return nil, nil, fmt.Errorf("source domain: %w", err)
		}
		a, err := m.adapt(sourceDomain, sd, source, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("source domain: %w", err)
		}
		offset = a.moved
	}
	return m.score(domain, support, candidates, offset)
}

// Scored is one recommended item.
type Scored struct {
	Index int32   `json:"index"`
	ID    string  `json:"id"`
	Score float32 `json:"score"` // ranking score (the order)
	Value float32 `json:"value"` // predicted value, normalised scale
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
	pred, rank, err := m.ScoreRank(domain, support, cands)
	if err != nil {
		return nil, err
	}
	out := make([]Scored, len(cands))
	for j, c := range cands {
		out[j] = Scored{Index: c, Score: rank[j], Value: pred[j]}
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
