// Package models holds the GoMLX recommendation models (an FCNN baseline
// and NCF), their per-user adaptation, their exported weights, and the
// Scorer the evaluation and serving paths use.
//
// Every model is split the same way, so one trained model serves users it
// has never seen, in any domain:
//
//   - an item tower maps an item's features (its own embedding, the mean of
//     its genre and creator embeddings, and a projection of the universal
//     genre vector and numeric features) to a vector x and a bias b_i; items
//     of all domains live in global tables (see Catalog);
//   - a user is no ID row but a state adapted from the support set: a user
//     vector u and bias b_u, initialised from a meta-learned u0 plus an
//     amortised encoding of the support ratings (mean of the support items'
//     vectors, plain and weighted by residual rating), then refined by a few
//     gradient steps on the support loss (the inner loop), optionally with
//     the head's last layer adapted too, as in MeLU (Lee et al., KDD 2019);
//   - a head predicts the normalised rating from (u, b_u, x, b_i) and the
//     domain's bias: dense layers for FCNN, fused GMF and MLP towers for
//     NCF (He et al., WWW 2017).
//
// Concatenations are written as sums of products (concat(u,x)·W = u·Wu +
// x·Wx) because the gradient of Concatenate cannot be differentiated again
// on the pure-Go backend, and the meta-gradient needs second order.
package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Architectures.
const (
	FCNN = "fcnn"
	NCF  = "ncf"
)

// Parameter groups; Config.Adapt names the groups the inner loop adapts.
const (
	GroupItem    = "item"    // item tower (never adapted: shared by all users)
	GroupBias    = "bias"    // domain and item biases: fitted in closed form on training data, then frozen
	GroupUser    = "user"    // user initialisation u0, b0 (always adapted, per user)
	GroupEncoder = "encoder" // support encoder
	GroupHead    = "head"    // hidden layers of the head
	GroupLast    = "last"    // output layer of the head
	GroupLR      = "lr"      // learned inner-loop step sizes (log scale)
	GroupRank    = "rank"    // ranking score (Config.Rank): never adapted
	GroupDomain  = "domain"  // per-domain calibration of the head's output: trained, never adapted
)

// Config fixes a model's architecture and adaptation. It is saved with the
// weights; Load rebuilds the same graph from it.
type Config struct {
	Arch    string `json:"arch"`
	ItemDim int    `json:"item_dim"`
	UserDim int    `json:"user_dim"`
	Hidden  [2]int `json:"hidden"`
	// Encoder: initialise the user from the support set (else u0 alone).
	Encoder bool `json:"encoder"`
	// Adapt lists the groups besides the user state that the inner loop
	// adapts: "last" (output layer), "head" (hidden layers).
	Adapt      []string `json:"adapt"`
	InnerSteps int      `json:"inner_steps"`
	InnerLR    float64  `json:"inner_lr"`
	// LearnInnerLR makes each adapted tensor's step size a trained
	// parameter (Meta-SGD, Li et al. 2017), initialised at InnerLR.
	LearnInnerLR bool `json:"learn_inner_lr"`
	// L2 weighs the squared norm of the item-embedding rows a batch uses in
	// the outer loss: most items have few ratings, and free per-item rows
	// otherwise fit their noise.
	L2 float64 `json:"l2"`
	// Rank adds a ranking score beside the rating prediction (RankScore):
	// the catalogue is ranked by how likely the user is to pick an item and
	// like it, not by the rating they would give it if they did. A domain
	// with training users is ranked by the score the trainer fits in closed
	// form, one without by the content score. RankWeight weighs the content
	// score's loss (a sampled softmax over the catalogue, RankLoss) in the
	// outer objective; the trainer trains it only when some domain of the
	// catalogue has no training users (a leave-one-domain-out run), since
	// no other domain is ranked by it.
	Rank       bool    `json:"rank,omitempty"`
	RankWeight float64 `json:"rank_weight,omitempty"`
	Shape      Shape   `json:"catalog"`
}

// Validate checks the config.
func (c *Config) Validate() error {
	if c.Arch != FCNN && c.Arch != NCF {
		return fmt.Errorf("arch %q is not %s or %s", c.Arch, FCNN, NCF)
	}
	if c.ItemDim <= 0 || c.UserDim <= 0 || c.Hidden[0] <= 0 || c.Hidden[1] <= 0 {
		return fmt.Errorf("dimensions must be positive: item %d, user %d, hidden %v", c.ItemDim, c.UserDim, c.Hidden)
	}
	for _, a := range c.Adapt {
		if a != GroupLast && a != GroupHead {
			return fmt.Errorf("adapt: %q is not %q or %q (the user state is always adapted)", a, GroupLast, GroupHead)
		}
	}
	if c.InnerSteps < 0 || c.InnerLR < 0 {
		return fmt.Errorf("inner_steps and inner_lr must not be negative")
	}
	if c.Rank && !(c.RankWeight >= 0) {
		return fmt.Errorf("rank_weight must not be negative, got %g", c.RankWeight)
	}
	return nil
}

// VarSpec describes one parameter tensor.
type VarSpec struct {
	Name  string
	Dims  []int
	Group string
	// Init: "zero", "normal" (std Scale), "const" (value Scale), "eye"
	// (Scale times the identity; square tensors).
	Init  string
	Scale float64
}

// Size is the number of values.
func (v VarSpec) Size() int {
	n := 1
	for _, d := range v.Dims {
		n *= d
	}
	return n
}

// Adapted reports whether the inner loop adapts v.
func (c *Config) Adapted(v VarSpec) bool {
	return v.Group == GroupUser || slices.Contains(c.Adapt, v.Group)
}

func glorot(in, out int) float64 { return math.Sqrt(2 / float64(in+out)) }

// Vars lists the model's parameters in a fixed order (the order of the
// exported weights and of the graphs' inputs).
func (c *Config) Vars() []VarSpec {
	s := c.Shape
	nItems, nGenres, nCreators := 0, 0, 0
	for d := range s.Items {
		nItems += s.Items[d]
		nGenres += s.Genres[d]
		nCreators += s.Creators[d]
	}
	di, du, h1, h2 := c.ItemDim, c.UserDim, c.Hidden[0], c.Hidden[1]
	v := []VarSpec{
		// Item embeddings start at zero: an item no training task touched
		// (a held-out domain's) is then described by its features alone.
		{Name: "item_emb", Dims: []int{nItems, di}, Group: GroupItem, Init: "zero"},
		// Domain and item biases are fitted in closed form on meta-train
		// data (mean, and shrunk mean residual) by the trainer and kept:
		// the network learns what they leave unexplained.
		{Name: "item_bias", Dims: []int{nItems}, Group: GroupBias, Init: "zero"},
		{Name: "genre_emb", Dims: []int{nGenres, di}, Group: GroupItem, Init: "normal", Scale: 0.05},
		{Name: "creator_emb", Dims: []int{nCreators, di}, Group: GroupItem, Init: "normal", Scale: 0.05},
		{Name: "dense_w", Dims: []int{s.F, di}, Group: GroupItem, Init: "normal", Scale: glorot(s.F, di)},
		{Name: "dense_bias_w", Dims: []int{s.F}, Group: GroupItem, Init: "zero"},
		{Name: "domain_bias", Dims: []int{len(s.Domains)}, Group: GroupBias, Init: "const", Scale: 0.5},
		// Per-domain calibration of the head's network output (Head).
		{Name: "domain_scale", Dims: []int{len(s.Domains)}, Group: GroupDomain, Init: "const", Scale: 1},
		{Name: "domain_shift", Dims: []int{len(s.Domains)}, Group: GroupDomain, Init: "zero"},
		{Name: "user_vec", Dims: []int{du}, Group: GroupUser, Init: "normal", Scale: 0.01},
		{Name: "user_bias", Dims: []int{1}, Group: GroupUser, Init: "zero"},
	}
	if c.Encoder {
		v = append(v,
			VarSpec{Name: "enc_mean", Dims: []int{di, du}, Group: GroupEncoder, Init: "normal", Scale: 0.01},
			VarSpec{Name: "enc_resid", Dims: []int{di, du}, Group: GroupEncoder, Init: "normal", Scale: 0.01},
			// b_u starts at the support's residuals summed over (lambda_d +
			// K), the "user bias over item biases" estimate, with one
			// shrinkage per domain; log lambda is learned, from lambda = 5
			// or from the trainer's tuned values.
			VarSpec{Name: "enc_lambda", Dims: []int{len(s.Domains)}, Group: GroupEncoder, Init: "const", Scale: math.Log(5)})
	}
	// The output layer starts at zero, so an untrained model predicts the
	// domain and item biases plus the user bias the encoder estimates (the
	// "user bias over item biases" predictor) and training only moves it
	// away from there where the query loss says so.
	switch c.Arch {
	case FCNN:
		v = append(v,
			VarSpec{Name: "h1_x", Dims: []int{di, h1}, Group: GroupHead, Init: "normal", Scale: glorot(di+du, h1)},
			VarSpec{Name: "h1_u", Dims: []int{du, h1}, Group: GroupHead, Init: "normal", Scale: glorot(di+du, h1)},
			VarSpec{Name: "h1_b", Dims: []int{h1}, Group: GroupHead, Init: "zero"},
			VarSpec{Name: "h2_w", Dims: []int{h1, h2}, Group: GroupHead, Init: "normal", Scale: glorot(h1, h2)},
			VarSpec{Name: "h2_b", Dims: []int{h2}, Group: GroupHead, Init: "zero"},
			VarSpec{Name: "out_w", Dims: []int{h2}, Group: GroupLast, Init: "zero"},
			VarSpec{Name: "out_b", Dims: []int{1}, Group: GroupLast, Init: "zero"})
	case NCF:
		v = append(v,
			VarSpec{Name: "gmf_q", Dims: []int{di, du}, Group: GroupHead, Init: "normal", Scale: glorot(di, du)},
			VarSpec{Name: "h1_x", Dims: []int{di, h1}, Group: GroupHead, Init: "normal", Scale: glorot(di+du, h1)},
			VarSpec{Name: "h1_u", Dims: []int{du, h1}, Group: GroupHead, Init: "normal", Scale: glorot(di+du, h1)},
			VarSpec{Name: "h1_b", Dims: []int{h1}, Group: GroupHead, Init: "zero"},
			VarSpec{Name: "h2_w", Dims: []int{h1, h2}, Group: GroupHead, Init: "normal", Scale: glorot(h1, h2)},
			VarSpec{Name: "h2_b", Dims: []int{h2}, Group: GroupHead, Init: "zero"},
			VarSpec{Name: "out_g", Dims: []int{du}, Group: GroupLast, Init: "zero"},
			VarSpec{Name: "out_w", Dims: []int{h2}, Group: GroupLast, Init: "zero"},
			VarSpec{Name: "out_b", Dims: []int{1}, Group: GroupLast, Init: "zero"})
	}
	if c.Rank {
		v = append(v,
			// The fitted ranking side (see RankSide), set by the trainer in
			// closed form and kept, as the biases are: the co-occurrence
			// vectors (a truncated SVD of the training users' items, lib/meta
			// setRankItems) and the popularity logit log(1 + training
			// count), the popularity baseline's signal. No trained per-item
			// rows: trained by a softmax over a catalogue most of whose items
			// have a handful of interactions, they fit noise (measured:
			// NDCG@10 fell below popularity's).
			VarSpec{Name: "rank_item", Dims: []int{nItems, di}, Group: GroupBias, Init: "zero"},
			VarSpec{Name: "pop_bias", Dims: []int{nItems}, Group: GroupBias, Init: "zero"},
			// 1 for a domain with no training users, ranked by the content
			// score; 0 for the others, ranked by the fitted one (RankScore).
			VarSpec{Name: "rank_gate", Dims: []int{len(s.Domains)}, Group: GroupBias, Init: "zero"},
			// The content ranking side, trained by the ranking loss: a
			// projection of the rating tower's vector, a popularity guess
			// from numeric features, the taste matrices (identity to start)
			// and the weight of the predicted rating.
			VarSpec{Name: "rank_x", Dims: []int{di, di}, Group: GroupRank, Init: "normal", Scale: glorot(di, di)},
			VarSpec{Name: "pop_dense_w", Dims: []int{s.F}, Group: GroupRank, Init: "zero"},
			VarSpec{Name: "rank_mean", Dims: []int{di, di}, Group: GroupRank, Init: "eye", Scale: 1},
			VarSpec{Name: "rank_resid", Dims: []int{di, di}, Group: GroupRank, Init: "zero"},
			VarSpec{Name: "rank_beta", Dims: []int{1}, Group: GroupRank, Init: "const", Scale: 1})
	}
	if c.LearnInnerLR {
		for _, x := range slices.Clone(v) {
			if c.Adapted(x) {
				v = append(v, VarSpec{Name: "lr_" + x.Name, Dims: []int{1}, Group: GroupLR, Init: "const", Scale: math.Log(max(c.InnerLR, 1e-6))})
			}
		}
	}
	return v
}

// Weights are a model's parameters on the host, in Config.Vars order.
type Weights struct {
	Specs  []VarSpec
	Values [][]float32
}

// Init draws initial weights from a seeded generator: the same seed gives
// the same weights.
func (c *Config) Init(seed uint64) *Weights {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	w := &Weights{Specs: c.Vars()}
	for _, s := range w.Specs {
		vals := make([]float32, s.Size())
		switch s.Init {
		case "normal":
			for i := range vals {
				vals[i] = float32(r.NormFloat64() * s.Scale)
			}
		case "const":
			for i := range vals {
				vals[i] = float32(s.Scale)
			}
		case "eye":
			n := s.Dims[0]
			for i := range n {
				vals[i*n+i] = float32(s.Scale)
			}
		}
		w.Values = append(w.Values, vals)
	}
	return w
}

// Index returns the position of the named parameter, or -1.
func (w *Weights) Index(name string) int {
	return slices.IndexFunc(w.Specs, func(s VarSpec) bool { return s.Name == name })
}
