package adapt

import (
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// The tensors the inner loop can adapt, by index. The user state (u, bu)
// is always adapted; the others when Config.Adapt names their group
// ("last": out_g, out_w, out_b; "head": h1_x, h1_u, h1_b, h2_w, h2_b,
// gmf_q). gmf_q and out_g exist for NCF only.
const (
	pU = iota
	pBU
	pH1X
	pH1U
	pH1B
	pH2W
	pH2B
	pGQ
	pOG
	pOW
	pOB
	nParams
)

// paramNames are the names of the tensors above as models.Config.FastNames
// spells them (u and bu for the user state).
var paramNames = [nParams]string{"u", "bu", "h1_x", "h1_u", "h1_b", "h2_w", "h2_b", "gmf_q", "out_g", "out_w", "out_b"}

// weightName is the exported weight a fast tensor starts from.
func weightName(p int) string {
	switch p {
	case pU:
		return "user_vec"
	case pBU:
		return "user_bias"
	}
	return paramNames[p]
}

// shared is what a Scorer and its ablations have in common: the config,
// the weights on the host and the per-domain item side.
type shared struct {
	cfg   models.Config
	cat   *models.Catalog
	w     map[string][]float32
	table *tasks.ItemTable

	ncf, rank bool
	adapted   [nParams]bool
	lr        [nParams]float32 // inner step size of each adapted tensor

	mu    sync.Mutex
	items map[int32]*domainItems
}

// Scorer serves a lib/models export with the adaptation in plain Go. It
// implements recommend.Scorer, CrossScorer, Ranker and CrossRanker, as
// models.Model does, and is safe for concurrent use.
type Scorer struct {
	*shared
	name  string
	steps int // inner steps (0 in the -no-inner ablation)
	pool  sync.Pool
}

// Load returns the fast scorer of the lib/models export in dir (a model
// folder with one seed, or one seed's folder), as models.LoadModel reads
// it.
func Load(dir string, items *tasks.ItemTable) (*Scorer, error) {
	seeds, err := models.SeedDirs(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: no exported model: %w", dir, err)
	}
	switch {
	case len(seeds) == 1:
		dir = seeds[0]
	case len(seeds) > 1:
		names := make([]string, len(seeds))
		for i, s := range seeds {
			names[i] = filepath.Base(s)
		}
		return nil, fmt.Errorf("%s: trained with %d seeds (%s): load each seed folder", dir, len(seeds), strings.Join(names, ", "))
	}
	h, w, err := models.ReadExport(dir)
	if err != nil {
		return nil, err
	}
	s, err := New(h.Name, h.Config, w, items)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return s, nil
}

// New builds a fast scorer from a config and weights over items: the same
// arguments as models.NewModel, without a backend.
func New(name string, cfg models.Config, w *models.Weights, items *tasks.ItemTable) (*Scorer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	want := cfg.Vars()
	if len(w.Specs) != len(want) || len(w.Values) != len(want) {
		return nil, fmt.Errorf("%d parameters, the config has %d", len(w.Values), len(want))
	}
	sh := &shared{cfg: cfg, w: map[string][]float32{}, table: items, items: map[int32]*domainItems{},
		ncf: cfg.Arch == models.NCF, rank: cfg.Rank}
	for i, s := range want {
		if w.Specs[i].Name != s.Name || !slices.Equal(w.Specs[i].Dims, s.Dims) || len(w.Values[i]) != s.Size() {
			return nil, fmt.Errorf("parameter %d: %s%v with %d values, the config wants %s%v", i, w.Specs[i].Name, w.Specs[i].Dims, len(w.Values[i]), s.Name, s.Dims)
		}
		sh.w[s.Name] = w.Values[i]
	}
	cat, err := models.NewCatalog(items, &cfg.Shape)
	if err != nil {
		return nil, err
	}
	sh.cat = cat
	for _, n := range cfg.FastNames() {
		p := slices.Index(paramNames[:], n)
		if p < 0 {
			return nil, fmt.Errorf("adapted tensor %q: the fast path does not know it", n)
		}
		sh.adapted[p] = true
		lr := float32(cfg.InnerLR)
		if lw, ok := sh.w["lr_"+weightName(p)]; ok && cfg.LearnInnerLR {
			lr = float32(math.Exp(float64(lw[0])))
		}
		sh.lr[p] = lr
	}
	return &Scorer{shared: sh, name: name, steps: cfg.InnerSteps}, nil
}

// Name implements recommend.Scorer.
func (s *Scorer) Name() string { return s.name }

// Concurrent tells the evaluation harness Score may run on several
// goroutines at once.
func (s *Scorer) Concurrent() bool { return true }

// Config returns the model's configuration (InnerSteps as exported; the
// -no-inner ablation runs none).
func (s *Scorer) Config() models.Config { return s.cfg }

// Catalog returns the item layout the model scores.
func (s *Scorer) Catalog() *models.Catalog { return s.cat }

// Ablations are the variants evaluate scores beside the model, with the
// names and meaning of models.Ablations: <name>-rank-term (with
// Config.Rank) and <name>-no-inner, both on the fast path.
func (s *Scorer) Ablations() ([]recommend.Scorer, error) {
	var out []recommend.Scorer
	if s.rank {
		out = append(out, &RankTerm{s: s})
	}
	return append(out, &Scorer{shared: s.shared, name: s.name + "-no-inner", steps: 0}), nil
}

// domainItems is a domain's item side, computed once: what the head and
// the ranking score read of an item that does not depend on the user.
type domainItems struct {
	n      int
	x      []float32 // item vectors [n*ItemDim]
	b      []float32 // item biases [n]
	h1     []float32 // x·h1_x [n*H1]
	q      []float32 // x·gmf_q [n*UserDim] (NCF)
	z, pop []float32 // the domain's ranking source (Config.Rank)
	once   sync.Once
}

func (sh *shared) domain(d int32) (*domainItems, error) {
	if d < 0 || int(d) >= len(sh.cat.Items) {
		return nil, fmt.Errorf("domain index %d out of range [0,%d)", d, len(sh.cat.Items))
	}
	sh.mu.Lock()
	di := sh.items[d]
	if di == nil {
		di = &domainItems{n: sh.cat.Items[d]}
		sh.items[d] = di
	}
	sh.mu.Unlock()
	di.once.Do(func() { sh.computeItems(d, di) })
	return di, nil
}

// contentRanked reports whether domain d is ranked by the content score.
func (sh *shared) contentRanked(d int32) bool { return sh.rank && sh.w["rank_gate"][d] > 0.5 }

// computeItems is Config.ItemTower, Config.Project and Config.RankItems
// for every item of domain d, in plain Go.
func (sh *shared) computeItems(d int32, di *domainItems) {
	c := &sh.cfg
	D, DU, H1 := c.ItemDim, c.UserDim, c.Hidden[0]
	n, cat := di.n, sh.cat
	f := cat.NewItemFeats(1, n)
	for i := range n {
		cat.Set(f, 0, i, cat.ItemOff[d]+int32(i))
	}
	G, C, F := cat.G, cat.C, cat.F
	w := sh.w
	emb, gEmb, cEmb, dw := w["item_emb"], w["genre_emb"], w["creator_emb"], w["dense_w"]
	di.x, di.b, di.h1 = make([]float32, n*D), make([]float32, n), make([]float32, n*H1)
	if sh.ncf {
		di.q = make([]float32, n*DU)
	}
	content := sh.contentRanked(d)
	if sh.rank {
		di.z, di.pop = make([]float32, n*D), make([]float32, n)
	}
	gs, cs, ds := make([]float32, D), make([]float32, D), make([]float32, D)
	for i := range n {
		row := int(f.Item[i])
		x := di.x[i*D : (i+1)*D]
		clear(gs)
		clear(cs)
		clear(ds)
		for k := range G {
			if wt := f.GenreW[i*G+k]; wt != 0 {
				axpy(wt, gEmb[int(f.Genre[i*G+k])*D:], gs)
			}
		}
		for k := range C {
			if wt := f.CreatorW[i*C+k]; wt != 0 {
				axpy(wt, cEmb[int(f.Creator[i*C+k])*D:], cs)
			}
		}
		dense := f.Dense[i*F : (i+1)*F]
		for k, v := range dense {
			axpy(v, dw[k*D:], ds)
		}
		for k := range x {
			x[k] = ((emb[row*D+k] + gs[k]) + cs[k]) + ds[k]
		}
		di.b[i] = w["item_bias"][row] + dot(dense, w["dense_bias_w"])
		vecMat(x, w["h1_x"], di.h1[i*H1:(i+1)*H1])
		if sh.ncf {
			vecMat(x, w["gmf_q"], di.q[i*DU:(i+1)*DU])
		}
		if sh.rank {
			if content {
				vecMat(x, w["rank_x"], di.z[i*D:(i+1)*D])
				di.pop[i] = dot(dense, w["pop_dense_w"])
			} else {
				copy(di.z[i*D:(i+1)*D], w["rank_item"][row*D:])
				di.pop[i] = w["pop_bias"][row]
			}
		}
	}
}

// scratch is one call's working memory, reused through the Scorer's pool:
// a call in steady state allocates nothing.
type scratch struct {
	items       []int // support item indices
	res         []float32
	a1, a2      []float32 // pre-activations per support item [K*H1], [K*H2]
	st          [nParams][]float32
	gr          [nParams][]float32
	own         [nParams][]float32 // backing of the adapted tensors' values
	u0, moved   []float32
	off         []float32 // a source history's move, the target's offset
	taste       []float32
	xMean, xRes []float32 // [ItemDim]
	hu, sda1    []float32 // [H1]
	r1, da1     []float32 // [H1]
	r2, da2     []float32 // [H2]
	q           []float32 // [UserDim]
	head        head
}

func (s *Scorer) scratch() *scratch {
	if sc, ok := s.pool.Get().(*scratch); ok {
		return sc
	}
	c := &s.cfg
	D, DU, H1, H2 := c.ItemDim, c.UserDim, c.Hidden[0], c.Hidden[1]
	sc := &scratch{u0: make([]float32, DU), moved: make([]float32, DU), off: make([]float32, DU), taste: make([]float32, D),
		xMean: make([]float32, D), xRes: make([]float32, D), hu: make([]float32, H1), sda1: make([]float32, H1),
		r1: make([]float32, H1), da1: make([]float32, H1), r2: make([]float32, H2), da2: make([]float32, H2),
		q: make([]float32, DU)}
	for p := range nParams {
		if !s.adapted[p] {
			continue
		}
		n := len(s.w[weightName(p)])
		sc.own[p], sc.gr[p] = make([]float32, n), make([]float32, n)
	}
	sc.head = head{hu: make([]float32, H1), outW: make([]float32, H2), g: make([]float32, DU),
		act: make([]float32, H1), acc: make([]float32, H2)}
	return sc
}

// grow returns b with length n, reusing its memory when it is large enough.
func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n, n+n/2)
	}
	return b[:n]
}

// adapt computes the user state on the support set of domain d into sc:
// Config.UserInit (plus the user-vector offset, nil for none), then steps
// of gradient descent on the inner loss (Config.AdaptUsers, gradients
// derived by hand), and with Config.Rank the taste vector (Config.Taste
// gated by rank_gate). With tasteOnly it stops after the taste.
func (s *Scorer) adapt(d int32, di *domainItems, support []tasks.Rated, offset []float32, sc *scratch, tasteOnly bool) error {
	c := &s.cfg
	w := s.w
	D, DU, H1, H2 := c.ItemDim, c.UserDim, c.Hidden[0], c.Hidden[1]
	K := len(support)
	sc.items = sc.items[:0]
	for _, r := range support {
		if r.Item < 0 || int(r.Item) >= di.n {
			return fmt.Errorf("%s: support item %d out of range for domain %s (%d items)", s.name, r.Item, s.cat.Domains[d], di.n)
		}
		sc.items = append(sc.items, int(r.Item))
	}
	mu := w["domain_bias"][d]
	scale, shift := w["domain_scale"][d], w["domain_shift"][d]
	// Residual ratings, what the domain and item biases leave unexplained.
	sc.res = grow(sc.res, K)
	for j, r := range support {
		sc.res[j] = r.Norm - (di.b[sc.items[j]] + mu)
	}
	kc := float32(max(K, 1))
	if s.rank {
		s.taste(d, di, sc, kc)
	}
	if tasteOnly {
		return nil
	}

	// Start: every adapted tensor from its shared weight, the others read
	// in place.
	for p := range nParams {
		if s.adapted[p] {
			copy(sc.own[p], w[weightName(p)])
			sc.st[p] = sc.own[p]
		} else if v, ok := w[weightName(p)]; ok {
			sc.st[p] = v
		} else {
			sc.st[p] = nil
		}
	}
	u, bu := sc.st[pU], sc.st[pBU]
	var lambda float32
	if c.Encoder {
		clear(sc.xMean)
		clear(sc.xRes)
		for j, it := range sc.items {
			x := di.x[it*D : (it+1)*D]
			axpy(1, x, sc.xMean)
			axpy(sc.res[j], x, sc.xRes)
		}
		var rs float32
		for _, v := range sc.res {
			rs += v
		}
		for k := range D {
			sc.xMean[k] /= kc
			sc.xRes[k] /= kc
		}
		em, er := w["enc_mean"], w["enc_resid"]
		for i := range DU {
			var a, b float32
			for k := range D {
				a += sc.xMean[k] * em[k*DU+i]
				b += sc.xRes[k] * er[k*DU+i]
			}
			u[i] += a + b
		}
		lambda = float32(math.Exp(float64(w["enc_lambda"][d])))
		bu[0] += rs / (float32(K) + lambda)
	}
	if offset != nil {
		for i := range u {
			u[i] += offset[i]
		}
	}
	copy(sc.u0, u)

	// The inner loss L and dL/dpred_j = 2 (pred_j - r_j) / Z: with the
	// encoder L = (sum_j (pred_j - r_j)^2 + lambda (bu - b0)^2) / Z, Z =
	// K + lambda; without it the mean squared error, Z = max(K, 1).
	z := kc
	if c.Encoder {
		z = float32(K) + lambda
	}
	b0 := w["user_bias"][0]
	sc.a1, sc.a2 = grow(sc.a1, K*H1), grow(sc.a2, K*H2)
	for range s.steps {
		s.gradient(d, di, support, sc, z, mu, scale, shift)
		g := sc.gr
		if c.Encoder {
			g[pBU][0] += 2 * lambda * (sc.st[pBU][0] - b0) / z
		}
		for p := range nParams {
			if !s.adapted[p] {
				continue
			}
			lr, v := s.lr[p], sc.st[p]
			for i, gv := range g[p] {
				v[i] -= lr * gv
			}
		}
	}
	for i := range sc.moved {
		sc.moved[i] = u[i] - sc.u0[i]
		if offset != nil {
			sc.moved[i] += offset[i]
		}
	}
	return nil
}

// gradient writes into sc.gr the gradient of the squared-error part of the
// inner loss with respect to every adapted tensor, at the state sc.st.
// The head (Config.Head) per support item j:
//
//	a1 = x·h1_x + u·h1_u + h1_b, r1 = relu(a1)
//	a2 = r1·h2_w + h2_b,         r2 = relu(a2)
//	net = r2·out_w + out_b [+ (x·gmf_q)·(u ⊙ out_g), NCF]
//	pred = scale·net + b_i + bu + mu + shift
//
// and back: e = scale·dL/dpred, dnet flows to the output layer, the GMF
// term and, through the ReLUs (gradient 1 where the input is >= 0, as
// GoMLX's Max gives), to the hidden layers and u.
func (s *Scorer) gradient(d int32, di *domainItems, support []tasks.Rated, sc *scratch, z, mu, scale, shift float32) {
	c := &s.cfg
	D, DU, H1, H2 := c.ItemDim, c.UserDim, c.Hidden[0], c.Hidden[1]
	st, g, ad := &sc.st, &sc.gr, &s.adapted
	for p := range nParams {
		if ad[p] {
			clear(g[p])
		}
	}
	u, h1u, h1b, h2w, h2b := st[pU], st[pH1U], st[pH1B], st[pH2W], st[pH2B]
	ow, ob := st[pOW], st[pOB]
	// u·h1_u + h1_b, common to every item.
	vecMat(u, h1u, sc.hu)
	for j := range H1 {
		sc.hu[j] += h1b[j]
	}
	clear(sc.sda1)
	gu := g[pU]
	for j, it := range sc.items {
		x := di.x[it*D : (it+1)*D]
		a1, a2 := sc.a1[j*H1:(j+1)*H1], sc.a2[j*H2:(j+1)*H2]
		if ad[pH1X] {
			vecMat(x, st[pH1X], a1)
		} else {
			copy(a1, di.h1[it*H1:(it+1)*H1])
		}
		for k := range H1 {
			a1[k] += sc.hu[k]
			sc.r1[k] = max(a1[k], 0)
		}
		copy(a2, h2b)
		for k, v := range sc.r1 {
			if v != 0 {
				axpy(v, h2w[k*H2:(k+1)*H2], a2)
			}
		}
		var net float32
		for k, v := range a2 {
			sc.r2[k] = max(v, 0)
			net += sc.r2[k] * ow[k]
		}
		net += ob[0]
		var q []float32
		if s.ncf {
			q = sc.q
			if ad[pGQ] {
				vecMat(x, st[pGQ], q)
			} else {
				copy(q, di.q[it*DU:(it+1)*DU])
			}
			og := st[pOG]
			for i := range DU {
				net += q[i] * u[i] * og[i]
			}
		}
		pred := scale*net + di.b[it] + st[pBU][0] + mu + shift
		gp := 2 * (pred - support[j].Norm) / z
		g[pBU][0] += gp
		e := scale * gp
		if ad[pOW] {
			axpy(e, sc.r2, g[pOW])
		}
		if ad[pOB] {
			g[pOB][0] += e
		}
		if s.ncf {
			og := st[pOG]
			for i := range DU {
				gu[i] += e * q[i] * og[i]
			}
			if ad[pOG] {
				for i := range DU {
					g[pOG][i] += e * q[i] * u[i]
				}
			}
			if ad[pGQ] {
				ggq := g[pGQ]
				for k, xv := range x {
					row := ggq[k*DU : (k+1)*DU]
					for i := range DU {
						row[i] += e * xv * u[i] * og[i]
					}
				}
			}
		}
		// Through the second ReLU and layer.
		for k, v := range a2 {
			if v >= 0 {
				sc.da2[k] = e * ow[k]
			} else {
				sc.da2[k] = 0
			}
		}
		if ad[pH2B] {
			axpy(1, sc.da2, g[pH2B])
		}
		if ad[pH2W] {
			gw := g[pH2W]
			for k, v := range sc.r1 {
				if v != 0 {
					axpy(v, sc.da2, gw[k*H2:(k+1)*H2])
				}
			}
		}
		// Through the first ReLU.
		for k := range H1 {
			if a1[k] >= 0 {
				sc.da1[k] = dot(h2w[k*H2:(k+1)*H2], sc.da2)
			} else {
				sc.da1[k] = 0
			}
		}
		axpy(1, sc.da1, sc.sda1)
		if ad[pH1X] {
			gx := g[pH1X]
			for k, xv := range x {
				axpy(xv, sc.da1, gx[k*H1:(k+1)*H1])
			}
		}
	}
	// u·h1_u + h1_b is shared by the items: its gradient is the sum of
	// theirs.
	for i := range DU {
		gu[i] += dot(h1u[i*H1:(i+1)*H1], sc.sda1)
	}
	if ad[pH1U] {
		gw := g[pH1U]
		for i := range DU {
			axpy(u[i], sc.sda1, gw[i*H1:(i+1)*H1])
		}
	}
	if ad[pH1B] {
		axpy(1, sc.sda1, g[pH1B])
	}
}

// taste is Config.Taste for the domain's ranking source, gated as
// models.Model's adaptation graph does: the content taste (the mean of
// the support's ranking vectors and their residual-weighted mean, through
// rank_mean and rank_resid) where rank_gate is 1, else the fitted one
// (the plain mean).
func (s *Scorer) taste(d int32, di *domainItems, sc *scratch, kc float32) {
	D := s.cfg.ItemDim
	clear(sc.xMean)
	clear(sc.xRes)
	for j, it := range sc.items {
		zr := di.z[it*D : (it+1)*D]
		axpy(1, zr, sc.xMean)
		axpy(sc.res[j], zr, sc.xRes)
	}
	for k := range D {
		sc.xMean[k] /= kc
		sc.xRes[k] /= kc
	}
	if !s.contentRanked(d) {
		copy(sc.taste, sc.xMean)
		return
	}
	rm, rr := s.w["rank_mean"], s.w["rank_resid"]
	for i := range D {
		var a, b float32
		for k := range D {
			a += sc.xMean[k] * rm[k*D+i]
			b += sc.xRes[k] * rr[k*D+i]
		}
		sc.taste[i] = a + b
	}
}

// head is the head's forward pass for one adapted user, with everything
// that depends on the user alone folded in once.
type head struct {
	d, du, h1, h2 int
	ncf, rank     bool
	hu            []float32 // u·h1_u + h1_b [H1]
	h1x, gq       []float32 // adapted h1_x and gmf_q, else nil (precomputed per item)
	w2, b2        []float32
	outW          []float32 // scale·out_w [H2]
	g             []float32 // scale·u ⊙ out_g [DU] (NCF)
	c             float32   // scale·out_b + bu + domain bias + shift
	taste         []float32
	beta          float32
	act, acc      []float32 // per-item scratch
	// simd: score with the vector kernel (score_simd.go), built with
	// GOEXPERIMENT=simd on a CPU with AVX2 and FMA, for the head it
	// covers (no adapted item-side tensor, widths multiples of 8).
	simd bool
}

func (s *Scorer) setHead(d int32, sc *scratch) *head {
	c := &s.cfg
	h := &sc.head
	st := &sc.st
	h.d, h.du, h.h1, h.h2, h.ncf, h.rank = c.ItemDim, c.UserDim, c.Hidden[0], c.Hidden[1], s.ncf, s.rank
	u := st[pU]
	h1u, h1b := st[pH1U], st[pH1B]
	for j := range h.h1 {
		v := h1b[j]
		for i := range h.du {
			v += u[i] * h1u[i*h.h1+j]
		}
		h.hu[j] = v
	}
	h.h1x, h.gq = nil, nil
	if s.adapted[pH1X] {
		h.h1x = st[pH1X]
	}
	if s.adapted[pGQ] {
		h.gq = st[pGQ]
	}
	h.simd = useSIMD && h.h1x == nil && h.gq == nil && h.d%8 == 0 && h.du%8 == 0 && h.h1%8 == 0 && h.h2%8 == 0
	scale := s.w["domain_scale"][d]
	h.w2, h.b2 = st[pH2W], st[pH2B]
	for k, v := range st[pOW] {
		h.outW[k] = scale * v
	}
	h.c = scale*st[pOB][0] + st[pBU][0] + s.w["domain_bias"][d] + s.w["domain_shift"][d]
	if h.ncf {
		og := st[pOG]
		for i := range h.du {
			h.g[i] = scale * u[i] * og[i]
		}
	}
	if h.rank {
		h.taste, h.beta = sc.taste, 1
		if s.contentRanked(d) {
			h.beta = s.w["rank_beta"][0]
		}
	}
	return h
}

// score writes the prediction and, when rank is not nil, the ranking
// score of every candidate; act and acc are [H1] and [H2] scratch.
func (h *head) score(di *domainItems, cands []int32, pred, rank, act, acc []float32) {
	if h.simd {
		h.scoreSIMD(di, cands, pred, rank, act)
		return
	}
	for n, c := range cands {
		i := int(c)
		x := di.x[i*h.d : (i+1)*h.d]
		if h.h1x == nil {
			pre := di.h1[i*h.h1 : (i+1)*h.h1]
			for j := range act {
				act[j] = pre[j] + h.hu[j]
			}
		} else {
			copy(act, h.hu)
			for k, xv := range x {
				axpy(xv, h.h1x[k*h.h1:(k+1)*h.h1], act)
			}
		}
		// Second layer as a sum of rows of h2_w over the units the ReLU
		// keeps (about half), written out here: axpy is too long to be
		// inlined and this is the loop a request spends most of its time in.
		copy(acc, h.b2)
		for j, v := range act {
			if v <= 0 {
				continue
			}
			row := h.w2[j*h.h2 : (j+1)*h.h2]
			row = row[:len(acc)]
			k := 0
			for ; k+4 <= len(acc); k += 4 {
				r, a := row[k:k+4:k+4], acc[k:k+4:k+4]
				a[0] += v * r[0]
				a[1] += v * r[1]
				a[2] += v * r[2]
				a[3] += v * r[3]
			}
			for ; k < len(acc); k++ {
				acc[k] += v * row[k]
			}
		}
		out := h.c + di.b[i]
		for k, v := range acc {
			if v > 0 {
				out += v * h.outW[k]
			}
		}
		if h.ncf {
			if h.gq == nil {
				out += dot(di.q[i*h.du:(i+1)*h.du], h.g)
			} else {
				for k, xv := range x {
					out += xv * dot(h.gq[k*h.du:(k+1)*h.du], h.g)
				}
			}
		}
		pred[n] = out
		if rank != nil {
			if h.rank {
				rank[n] = di.pop[i] + h.beta*out + dot(di.z[i*h.d:(i+1)*h.d], h.taste)
			} else {
				rank[n] = out
			}
		}
	}
}

func (s *Scorer) check(d int32, candidates []int32) (*domainItems, error) {
	di, err := s.domain(d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	for _, c := range candidates {
		if c < 0 || int(c) >= di.n {
			return nil, fmt.Errorf("%s: candidate item %d out of range for domain %s (%d items)", s.name, c, s.cat.Domains[d], di.n)
		}
	}
	return di, nil
}

// sourceOffset adapts to a source-domain history and returns how far that
// moved the user vector (in sc.moved), or nil without a history.
func (s *Scorer) sourceOffset(sourceDomain int32, source []tasks.Rated, sc *scratch) ([]float32, error) {
	if len(source) == 0 {
		return nil, nil
	}
	sd, err := s.domain(sourceDomain)
	if err != nil {
		return nil, fmt.Errorf("source domain: %s: %w", s.name, err)
	}
	if err := s.adapt(sourceDomain, sd, source, nil, sc, false); err != nil {
		return nil, fmt.Errorf("source domain: %w", err)
	}
	return sc.moved, nil
}

// ScoreInto adapts to support (after a source-domain history, when
// source is not empty) and writes the prediction of every candidate of
// domain d into pred and, when rank is not nil, its ranking score into
// rank. It runs on the calling goroutine and allocates nothing in steady
// state.
func (s *Scorer) ScoreInto(sourceDomain int32, source []tasks.Rated, d int32, support []tasks.Rated, candidates []int32, pred, rank []float32) error {
	if len(pred) < len(candidates) || (rank != nil && len(rank) < len(candidates)) {
		return fmt.Errorf("%s: output slices shorter than the %d candidates", s.name, len(candidates))
	}
	di, err := s.check(d, candidates)
	if err != nil {
		return err
	}
	sc := s.scratch()
	defer s.pool.Put(sc)
	h, err := s.prepare(sourceDomain, source, d, di, support, sc)
	if err != nil {
		return err
	}
	h.score(di, candidates, pred, rank, h.act, h.acc)
	return nil
}

// prepare runs the adaptations of a request and sets up the head.
func (s *Scorer) prepare(sourceDomain int32, source []tasks.Rated, d int32, di *domainItems, support []tasks.Rated, sc *scratch) (*head, error) {
	off, err := s.sourceOffset(sourceDomain, source, sc)
	if err != nil {
		return nil, err
	}
	if off != nil {
		// The target's adaptation rewrites sc.moved: start it from a copy.
		copy(sc.off, off)
		off = sc.off
	}
	if err := s.adapt(d, di, support, off, sc, false); err != nil {
		return nil, err
	}
	return s.setHead(d, sc), nil
}

// parallelFrom is the candidate count from which a request's scoring is
// split across cores (as models.Model does).
const parallelFrom = 4096

func (s *Scorer) score(sourceDomain int32, source []tasks.Rated, d int32, support []tasks.Rated, candidates []int32) (pred, rank []float32, err error) {
	di, err := s.check(d, candidates)
	if err != nil {
		return nil, nil, err
	}
	sc := s.scratch()
	defer s.pool.Put(sc)
	h, err := s.prepare(sourceDomain, source, d, di, support, sc)
	if err != nil {
		return nil, nil, err
	}
	pred = make([]float32, len(candidates))
	rank = pred
	if s.rank {
		rank = make([]float32, len(candidates))
	}
	workers := 1
	if len(candidates) >= parallelFrom {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers == 1 {
		h.score(di, candidates, pred, rank, h.act, h.acc)
		return pred, rank, nil
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(candidates)/workers, (w+1)*len(candidates)/workers
		wg.Go(func() {
			act, acc := h.act, h.acc
			if w > 0 {
				act, acc = make([]float32, h.h1), make([]float32, h.h2)
			}
			h.score(di, candidates[lo:hi], pred[lo:hi], rank[lo:hi], act, acc)
		})
	}
	wg.Wait()
	return pred, rank, nil
}

// Score implements recommend.Scorer: adapt to support, predict candidates.
func (s *Scorer) Score(domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	p, _, err := s.score(0, nil, domain, support, candidates)
	return p, err
}

// ScoreRank implements recommend.Ranker.
func (s *Scorer) ScoreRank(domain int32, support []tasks.Rated, candidates []int32) (pred, rank []float32, err error) {
	return s.score(0, nil, domain, support, candidates)
}

// ScoreCross implements recommend.CrossScorer as models.Model does: the
// user vector's move on the source history is the starting offset in the
// target domain.
func (s *Scorer) ScoreCross(sourceDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	p, _, err := s.score(sourceDomain, source, domain, support, candidates)
	return p, err
}

// ScoreCrossRank implements recommend.CrossRanker.
func (s *Scorer) ScoreCrossRank(sourceDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, candidates []int32) (pred, rank []float32, err error) {
	return s.score(sourceDomain, source, domain, support, candidates)
}

// State is an adapted user as the adaptation graph returns it: the
// initial user vector U0 (offset included), the adapted tensors by
// Config.FastNames name, the vector's move (what ScoreCross carries) and
// the taste vector (Config.Rank).
type State struct {
	U0, Moved, Taste []float32
	Fast             map[string][]float32
}

// Adapt returns the adapted state of a user of domain d with a support
// set and a user-vector offset (nil: none), copied out of the scratch.
func (s *Scorer) Adapt(d int32, support []tasks.Rated, offset []float32) (*State, error) {
	di, err := s.check(d, nil)
	if err != nil {
		return nil, err
	}
	sc := s.scratch()
	defer s.pool.Put(sc)
	if err := s.adapt(d, di, support, offset, sc, false); err != nil {
		return nil, err
	}
	st := &State{U0: slices.Clone(sc.u0), Moved: slices.Clone(sc.moved), Fast: map[string][]float32{}}
	if s.rank {
		st.Taste = slices.Clone(sc.taste)
	}
	for p := range nParams {
		if s.adapted[p] {
			st.Fast[paramNames[p]] = slices.Clone(sc.st[p])
		}
	}
	return st, nil
}

// RankTerm is the fitted ranking term alone (models.Ablations'
// <name>-rank-term): popularity logit plus the match of the support's
// taste vector. Its scores are not ratings.
type RankTerm struct{ s *Scorer }

// Name implements recommend.Scorer.
func (r *RankTerm) Name() string { return r.s.name + "-rank-term" }

// Concurrent tells the harness Score may run on several goroutines.
func (r *RankTerm) Concurrent() bool { return true }

// RankingOnly tells the harness the scores are not predicted values.
func (r *RankTerm) RankingOnly() bool { return true }

// Score implements recommend.Scorer: pop_i + <z_i, taste>.
func (r *RankTerm) Score(domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	s := r.s
	di, err := s.check(domain, candidates)
	if err != nil {
		return nil, err
	}
	sc := s.scratch()
	defer s.pool.Put(sc)
	if err := s.adapt(domain, di, support, nil, sc, true); err != nil {
		return nil, err
	}
	d := s.cfg.ItemDim
	out := make([]float32, len(candidates))
	for k, c := range candidates {
		i := int(c)
		out[k] = di.pop[i] + dot(di.z[i*d:(i+1)*d], sc.taste)
	}
	return out, nil
}

// axpy adds a·x to y (len(y) values of x).
func axpy(a float32, x, y []float32) {
	x = x[:len(y)]
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		ys[0] += a * xs[0]
		ys[1] += a * xs[1]
		ys[2] += a * xs[2]
		ys[3] += a * xs[3]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// vecMat writes x·W into out: W is [len(x), len(out)], row-major.
func vecMat(x, w, out []float32) {
	n := len(out)
	clear(out)
	for k, v := range x {
		axpy(v, w[k*n:(k+1)*n], out)
	}
}

// dot is the inner product of two equally long vectors, with four
// accumulators.
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
