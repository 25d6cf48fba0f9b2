package models

import (
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's graph DSL reads best dot-imported
)

// Vars maps parameter names to graph nodes. Shared parameters keep their
// own shape; fast (adapted) ones carry a leading task axis [T, ...].
type Vars map[string]*Node

// ItemNodes are the item-tower inputs of a [T, N] block (see ItemFeats).
type ItemNodes struct {
	Item, Genre, GenreW, Creator, CreatorW, Dense *Node
}

// SetNodes are one rated set per task: item vectors and biases from the
// item tower, ratings and a 0/1 mask over padding, all [T, N] but X
// ([T, N, ItemDim]).
type SetNodes struct {
	X, B, R, M *Node
	Dom        *Node // [T] int32: each task's domain index
}

// gatherRows looks up table rows for indices of any shape: idx [...] ->
// [..., D] for a [V, D] table, [...] for a [V] one. Indices are flattened
// first: Gather in GoMLX v0.26 rejects index tensors of rank above 3.
func gatherRows(table, idx *Node) *Node {
	dims := idx.Shape().Dimensions
	flat := Reshape(idx, idx.Shape().Size(), 1)
	out := Gather(table, flat)
	return Reshape(out, append(append([]int(nil), dims...), table.Shape().Dimensions[1:]...)...)
}

// weightedRows averages embedding rows: table rows at idx [T,N,S], weighted
// by w [T,N,S], summed over S -> [T,N,D].
func weightedRows(table, idx, w *Node) *Node {
	return ReduceSum(Mul(gatherRows(table, idx), InsertAxes(w, -1)), 2)
}

// dense multiplies x [T,N,I] by W: [I,O] shared or [T,I,O] per task.
func dense(x, w *Node) *Node {
	if w.Rank() == 3 {
		return DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0})
	}
	return DotGeneral(x, []int{2}, nil, w, []int{0}, nil)
}

// userDense multiplies u [T,I] by W: [I,O] shared or [T,I,O] -> [T,O].
func userDense(u, w *Node) *Node {
	if w.Rank() == 3 {
		return DotGeneral(u, []int{1}, []int{0}, w, []int{1}, []int{0})
	}
	return DotGeneral(u, []int{1}, nil, w, []int{0}, nil)
}

// vecDot contracts x [T,N,I] with w: [I] shared or [T,I] -> [T,N].
func vecDot(x, w *Node) *Node {
	if w.Rank() == 2 {
		return DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0})
	}
	return DotGeneral(x, []int{2}, nil, w, []int{0}, nil)
}

// addBias adds b ([O] shared or [T,O]) to h [T,N,O].
func addBias(h, b *Node) *Node {
	if b.Rank() == 2 {
		return Add(h, InsertAxes(b, 1))
	}
	return Add(h, Reshape(b, 1, 1, b.Shape().Dimensions[0]))
}

// addScalar adds s ([1] shared or [T,1]) to p [T,N].
func addScalar(p, s *Node) *Node {
	if s.Rank() == 2 {
		return Add(p, s)
	}
	return Add(p, Reshape(s, 1, 1))
}

func relu(x *Node) *Node { return MaxScalar(x, 0.0) }

// ItemTower computes item vectors [T,N,ItemDim] and biases [T,N].
func (c *Config) ItemTower(v Vars, in ItemNodes) (x, b *Node) {
	x = gatherRows(v["item_emb"], in.Item)
	x = Add(x, weightedRows(v["genre_emb"], in.Genre, in.GenreW))
	x = Add(x, weightedRows(v["creator_emb"], in.Creator, in.CreatorW))
	x = Add(x, dense(in.Dense, v["dense_w"]))
	b = Add(gatherRows(v["item_bias"], in.Item), vecDot(in.Dense, v["dense_bias_w"]))
	return x, b
}

// ItemPenalty is the mean squared norm of the item-embedding rows of a
// block, over its real entries (mask m [T,N]).
func (c *Config) ItemPenalty(v Vars, in ItemNodes, m *Node) *Node {
	e := gatherRows(v["item_emb"], in.Item)
	sq := Mul(ReduceSum(Mul(e, e), 2), m)
	return Div(ReduceAllSum(sq), MaxScalar(ReduceAllSum(m), 1.0))
}

// DomainTerms are each task's per-domain terms, all [T]: the domain bias Mu
// (fitted in closed form and kept) and the calibration of the head's
// network output, Scale times it plus Shift (trained, never adapted).
type DomainTerms struct {
	Mu, Scale, Shift *Node
}

// Domain gathers each task's domain terms: domain [T] int32.
func (c *Config) Domain(v Vars, domain *Node) DomainTerms {
	return DomainTerms{
		Mu:    gatherRows(v["domain_bias"], domain),
		Scale: gatherRows(v["domain_scale"], domain),
		Shift: gatherRows(v["domain_shift"], domain),
	}
}

// masked mean over axis 1 of [T,N] or [T,N,D] values, with mask m [T,N];
// an empty set gives 0.
func maskedMean(x, m *Node) (mean, count *Node) {
	count = MaxScalar(ReduceSum(m, 1), 1.0) // [T]
	if x.Rank() == 3 {
		return Div(ReduceSum(Mul(x, InsertAxes(m, -1)), 1), InsertAxes(count, -1)), count
	}
	return Div(ReduceSum(Mul(x, m), 1), count), count
}

// UserInit returns the initial user state of each task [T,UserDim], [T,1]
// from u0, b0 and, with the encoder, the support set s and the domain
// bias mu [T]. The residual of a rating is what the domain and item biases
// leave unexplained, the signal the "user bias" baselines use.
func (c *Config) UserInit(v Vars, s SetNodes, mu *Node) (u, bu *Node) {
	t := s.R.Shape().Dimensions[0]
	du := c.UserDim
	u = BroadcastToDims(InsertAxes(v["user_vec"], 0), t, du)
	bu = BroadcastToDims(InsertAxes(v["user_bias"], 0), t, 1)
	if !c.Encoder {
		return u, bu
	}
	resid := Mul(Sub(s.R, Add(s.B, InsertAxes(mu, -1))), s.M) // [T,K]
	xMean, _ := maskedMean(s.X, s.M)
	xResid, _ := maskedMean(Mul(s.X, InsertAxes(resid, -1)), s.M)
	u = Add(u, Add(userDense(xMean, v["enc_mean"]), userDense(xResid, v["enc_resid"])))
	lambda := Exp(gatherRows(v["enc_lambda"], s.Dom)) // [T]: the domain's shrinkage
	bu = Add(bu, InsertAxes(Div(ReduceSum(resid, 1), Add(ReduceSum(s.M, 1), lambda)), -1))
	return u, bu
}

// ItemSide is an item block as the head reads it: vectors X [T,N,ItemDim]
// and biases B [T,N], and optionally the item-only products H1 = X·h1_x
// and Q = X·gmf_q precomputed (serving scores a whole catalogue per user,
// so what does not depend on the user is computed once per domain).
type ItemSide struct {
	X, B, H1, Q *Node
}

// Project fills H1 and Q from X with shared weights v.
func (c *Config) Project(v Vars, it ItemSide) ItemSide {
	it.H1 = dense(it.X, v["h1_x"])
	if c.Arch == NCF {
		it.Q = dense(it.X, v["gmf_q"])
	}
	return it
}

// Head predicts [T,N] from the user state (u [T,UserDim], bu [T,1]), an
// item block and the domain terms: mu + b_i + b_u + shift + scale * net,
// net the dense layers' (and GMF's) output. The scale lets a domain the
// shared network does not serve turn it down (with scale 0 the prediction
// is the bias model's), and the shift moves a domain's predictions toward
// where its error is lowest (the median under the MAE outer loss), which
// the biases, fitted as means, are not.
func (c *Config) Head(v Vars, u, bu *Node, it ItemSide, dm DomainTerms) *Node {
	h1x := it.H1
	if h1x == nil || v["h1_x"].Rank() == 3 {
		h1x = dense(it.X, v["h1_x"])
	}
	h1 := addBias(Add(h1x, InsertAxes(userDense(u, v["h1_u"]), 1)), v["h1_b"])
	h2 := relu(addBias(dense(relu(h1), v["h2_w"]), v["h2_b"]))
	out := vecDot(h2, v["out_w"])
	if c.Arch == NCF {
		// GMF: u ⊙ (x·Q) projected on out_g, i.e. (x·Q)·(u ⊙ out_g).
		q := it.Q
		if q == nil || v["gmf_q"].Rank() == 3 {
			q = dense(it.X, v["gmf_q"])
		}
		og := v["out_g"]
		if og.Rank() == 1 {
			og = InsertAxes(og, 0)
		}
		out = Add(out, vecDot(q, Mul(u, og)))
	}
	out = Mul(addScalar(out, v["out_b"]), InsertAxes(dm.Scale, -1))
	return Add(Add(out, it.B), Add(bu, InsertAxes(Add(dm.Mu, dm.Shift), -1)))
}

// Loss is each task's masked mean squared error [T].
func Loss(pred, r, m *Node) *Node {
	d := Mul(Sub(pred, r), m)
	se, _ := maskedMean(Mul(d, d), m)
	return se
}

// AbsLoss is each task's masked mean absolute error [T].
func AbsLoss(pred, r, m *Node) *Node {
	ae, _ := maskedMean(Abs(Mul(Sub(pred, r), m)), m)
	return ae
}

// innerLoss is each task's support loss [T]. With the encoder it is the
// ridge objective of the user bias bu [T,1]: the squared error summed over
// the support plus lambda_d (bu - user_bias)^2, divided by (K + lambda_d),
// lambda_d the domain's learned user shrinkage. Its minimum in bu alone is
// the shrunk mean residual the encoder starts bu at (UserInit), so the
// inner loop keeps the baseline's bias unless the rest of the head gives a
// reason to move it; without the penalty each step pulled bu toward the
// unshrunk mean, undoing the tuned shrinkage. Dividing by K + lambda_d
// makes one step size serve K = 1 and K = 20 alike (a plain mean would
// take the same size of step on one rating as on twenty). Without the
// encoder, the mean squared error.
func (c *Config) innerLoss(v Vars, pred, bu *Node, s SetNodes) *Node {
	if !c.Encoder {
		return Loss(pred, s.R, s.M)
	}
	d := Mul(Sub(pred, s.R), s.M)
	lambda := Exp(gatherRows(v["enc_lambda"], s.Dom))
	dev := Sub(Reshape(bu, bu.Shape().Dimensions[0]), Reshape(v["user_bias"])) // [T]
	return Div(Add(ReduceSum(Mul(d, d), 1), Mul(lambda, Mul(dev, dev))), Add(ReduceSum(s.M, 1), lambda))
}

// startFast splits v into the inner loop's starting fast weights (user state
// plus the adapted groups, broadcast to a task axis) and returns their names
// in a fixed order.
func (c *Config) startFast(v Vars, u, bu *Node) (fast Vars, names []string) {
	t := u.Shape().Dimensions[0]
	fast = Vars{"u": u, "bu": bu}
	names = []string{"u", "bu"}
	for _, s := range c.Vars() {
		if s.Group == GroupUser || !c.Adapted(s) {
			continue
		}
		fast[s.Name] = BroadcastToDims(InsertAxes(v[s.Name], 0), append([]int{t}, s.Dims...)...)
		names = append(names, s.Name)
	}
	return fast, names
}

// lrFor is the inner step size of a fast weight: the learned one (the
// user state's are lr_user_vec and lr_user_bias) or the configured one.
func (c *Config) lrFor(v Vars, name string, like *Node) *Node {
	key := map[string]string{"u": "user_vec", "bu": "user_bias"}[name]
	if key == "" {
		key = name
	}
	if lr, ok := v["lr_"+key]; ok && c.LearnInnerLR {
		return Reshape(Exp(lr)) // scalar
	}
	return Scalar(like.Graph(), like.DType(), c.InnerLR)
}

// merged returns v with the fast weights in place of the shared ones.
func merged(v, fast Vars) Vars {
	out := make(Vars, len(v)+len(fast))
	for k, x := range v {
		out[k] = x
	}
	for k, x := range fast {
		out[k] = x
	}
	return out
}

// AdaptUsers runs steps of gradient descent on each task's support loss,
// starting from the user initialisation, and returns the starting and the
// adapted fast weights. The loop is unrolled in the graph; with firstOrder the inner
// gradients are constants to the outer gradient (first-order MAML).
// Summing the per-task losses gives each task its own inner gradient,
// since no fast weight is shared between tasks.
func (c *Config) AdaptUsers(v Vars, s SetNodes, dm DomainTerms, uOffset *Node, steps int, firstOrder bool) (start, fast Vars) {
	u, bu := c.UserInit(v, s, dm.Mu)
	if uOffset != nil {
		u = Add(u, uOffset)
	}
	start, names := c.startFast(v, u, bu)
	fast = start
	it := ItemSide{X: s.X, B: s.B}
	for range steps {
		w := merged(v, fast)
		pred := c.Head(w, w["u"], w["bu"], it, dm)
		loss := ReduceAllSum(c.innerLoss(v, pred, w["bu"], s))
		wrt := make([]*Node, len(names))
		for i, n := range names {
			wrt[i] = fast[n]
		}
		grads := Gradient(loss, wrt...)
		next := make(Vars, len(fast))
		for i, n := range names {
			g := grads[i]
			if firstOrder {
				g = StopGradient(g)
			}
			next[n] = Sub(fast[n], Mul(c.lrFor(v, n, g), g))
		}
		fast = next
	}
	return start, fast
}

// Predict scores a [T,N] set with adapted fast weights.
func (c *Config) Predict(v, fast Vars, it ItemSide, dm DomainTerms) *Node {
	w := merged(v, fast)
	return c.Head(w, w["u"], w["bu"], it, dm)
}

// FastNames lists the fast weights Adapt returns, in order.
func (c *Config) FastNames() []string {
	names := []string{"u", "bu"}
	for _, s := range c.Vars() {
		if s.Group != GroupUser && c.Adapted(s) {
			names = append(names, s.Name)
		}
	}
	return slices.Clip(names)
}

// RankSide is an item block's ranking inputs, from two sources:
//
//   - fitted (FitZ [T,N,ItemDim], FitPop [T,N]): the item's co-occurrence
//     vector rank_item and popularity logit pop_bias, both fitted by the
//     trainer in closed form on the domain's training users and kept;
//   - content (ContentZ, ContentPop): a projection of the rating tower's
//     vector (genres, creators, numeric features; under StopGradient, so
//     the ranking loss reads it and leaves it to the rating loss) and a
//     popularity guess from the numeric features, trained by the ranking
//     loss. It is what a domain with no training users can be ranked by.
type RankSide struct {
	FitZ, FitPop, ContentZ, ContentPop *Node
}

// RankItems returns an item block's ranking inputs; x is its rating-tower
// vector.
func (c *Config) RankItems(v Vars, in ItemNodes, x *Node) RankSide {
	return RankSide{
		FitZ:       gatherRows(v["rank_item"], in.Item),
		FitPop:     gatherRows(v["pop_bias"], in.Item),
		ContentZ:   dense(StopGradient(x), v["rank_x"]),
		ContentPop: vecDot(in.Dense, v["pop_dense_w"]),
	}
}

// Tastes are a user's ranking vectors [T,ItemDim] from the support set,
// one per source of RankSide.
type Tastes struct {
	Fit, Content *Node
}

// Taste computes a user's tastes from the support's ranking inputs r: the
// fitted taste is the mean of the support items' co-occurrence vectors
// (so the score is a low-rank item-kNN); the content taste is the mean of
// their content vectors and their mean weighted by residual rating (what
// the domain and item biases leave unexplained), each through its own
// trained matrix ("more like what you picked", "more like what you liked").
func (c *Config) Taste(v Vars, s SetNodes, r RankSide, mu *Node) Tastes {
	fit, _ := maskedMean(r.FitZ, s.M)
	resid := StopGradient(Mul(Sub(s.R, Add(s.B, InsertAxes(mu, -1))), s.M))
	zMean, _ := maskedMean(r.ContentZ, s.M)
	zResid, _ := maskedMean(Mul(r.ContentZ, InsertAxes(resid, -1)), s.M)
	return Tastes{Fit: fit, Content: Add(userDense(zMean, v["rank_mean"]), userDense(zResid, v["rank_resid"]))}
}

// FitScore is the fitted ranking score of a [T,N] block: popularity logit
// + co-occurrence match + the predicted rating.
func (c *Config) FitScore(r RankSide, t Tastes, pred *Node) *Node {
	return Add(Add(r.FitPop, vecDot(r.FitZ, t.Fit)), StopGradient(pred))
}

// ContentScore is the trained ranking score of a [T,N] block: content
// popularity + content match + rank_beta times the predicted rating. The
// prediction enters under StopGradient, so only the rating loss shapes it.
func (c *Config) ContentScore(v Vars, r RankSide, t Tastes, pred *Node) *Node {
	return Add(Add(r.ContentPop, vecDot(r.ContentZ, t.Content)), Mul(StopGradient(pred), Reshape(v["rank_beta"], 1, 1)))
}

// RankScore orders a [T,N] block for a user of each task's domain [T]:
// by the fitted score where the domain had training users, by the content
// score where it had none (rank_gate 1, set by the trainer).
func (c *Config) RankScore(v Vars, domain *Node, r RankSide, t Tastes, pred *Node) *Node {
	g := InsertAxes(gatherRows(v["rank_gate"], domain), -1) // [T,1], 0 or 1
	fit, content := c.FitScore(r, t, pred), c.ContentScore(v, r, t, pred)
	return Add(Mul(g, content), Mul(OneMinus(g), fit))
}

// RankLoss is a sampled softmax over the catalogue: each positive query
// item (weight w [T,Q], 0 or 1) against the task's negatives sampled
// uniformly from its domain (scores neg [T,S]), -log(e^p / (e^p + sum
// e^n)) = softplus(logsumexp(n) - p), averaged over positives. Uniform
// sampling needs no correction term: it shifts every logit of a task
// equally.
func RankLoss(pos, w, neg *Node) *Node {
	m := StopGradient(ReduceMax(neg, 1))
	lse := Add(m, Log(ReduceSum(Exp(Sub(neg, InsertAxes(m, -1))), 1))) // [T]
	z := Sub(InsertAxes(lse, -1), pos)
	softplus := Add(relu(z), Log(AddScalar(Exp(Neg(Abs(z))), 1)))
	return Div(ReduceAllSum(Mul(softplus, w)), MaxScalar(ReduceAllSum(w), 1.0))
}
