// Package adapt serves lib/models' exports (the NCF and FCNN
// meta-learners: runs maml, maml-fo, reptile, ncf, fcnn, maml-lodo-*) with
// the per-user adaptation in plain Go instead of a GoMLX graph.
//
// models.Model adapts each user with a graph (Config.AdaptUsers) over the
// K support ratings: a few hundred multiply-adds per step, but a graph
// dispatch per request (about 1.3 ms on 2 busy cores, BenchmarkAdaptOnly).
// Scorer computes the same thing directly and keeps models.Model's
// contract: recommend.Scorer, CrossScorer, Ranker and CrossRanker, the
// evaluate stage's ablations (-rank-term, -no-inner; Scorer.Ablations, both
// on the fast path) and models.Load's folder rules (Load). lib/models is
// not changed (its folder is a train-stage dependency); what this package
// needs of it that is unexported (the item side, the head pass, the
// adaptation) is reimplemented here from the exported weights and config.
//
// # What is derived by hand
//
// Per support item j, with x_j and b_j from the item tower (computed once
// per domain in Go: Config.ItemTower, Project and RankItems), the head is
//
//	a1 = x·h1_x + u·h1_u + h1_b            r1 = relu(a1)
//	a2 = r1·h2_w + h2_b                    r2 = relu(a2)
//	net = r2·out_w + out_b [+ (x·gmf_q)·(u ⊙ out_g), NCF]
//	pred = scale_d·net + b_j + b_u + mu_d + shift_d
//
// and the inner loss L = (Σ_j (pred_j − r_j)² + λ_d (b_u − b_0)²) / (K + λ_d)
// with the encoder (λ_d = exp(enc_lambda_d)), Σ_j (pred_j − r_j)² / max(K,1)
// without it. With g_j = 2 (pred_j − r_j) / Z and e_j = scale_d·g_j:
//
//	dL/db_u   = Σ_j g_j [+ 2 λ_d (b_u − b_0) / Z]
//	dL/dout_b = Σ_j e_j,  dL/dout_w = Σ_j e_j r2_j
//	dL/dout_g = Σ_j e_j q_j ⊙ u,  q_j = x_j·gmf_q           (NCF)
//	da2_j = e_j out_w ⊙ [a2_j ≥ 0],  da1_j = (h2_w·da2_j) ⊙ [a1_j ≥ 0]
//	dL/dh2_b = Σ_j da2_j, dL/dh2_w = Σ_j r1_j ⊗ da2_j
//	dL/dh1_b = Σ_j da1_j, dL/dh1_u = u ⊗ Σ_j da1_j, dL/dh1_x = Σ_j x_j ⊗ da1_j
//	dL/dgmf_q = Σ_j e_j x_j ⊗ (u ⊙ out_g)                     (NCF)
//	dL/du = h1_u·Σ_j da1_j [+ Σ_j e_j q_j ⊙ out_g, NCF]
//
// ([a ≥ 0]: GoMLX's Max passes the gradient at a tie, so the ReLU's
// derivative at 0 is 1 here too.) Every adapted tensor — u and b_u always,
// the output layer with adapt: [last], the hidden layers with [head] —
// takes InnerSteps steps of t ← t − lr_t·dL/dt, lr_t = exp(lr_<t>) with
// learned step sizes (Meta-SGD), else inner_lr. The start is
// Config.UserInit (u0 plus the encoder's support means through enc_mean
// and enc_resid, b_u the shrunk mean residual) plus the cross-domain
// offset; the taste vector of the ranking score is Config.Taste, gated by
// rank_gate. The inner problem is not solved in closed form: with the head
// in the loss it is not quadratic, and the served model takes a fixed
// number of steps, which is what is reproduced.
//
// Working memory comes from a sync.Pool of per-call scratch structs sized
// by the config (support-sized slices grow once): ScoreInto, adapt plus a
// serial catalogue pass into caller-owned slices, allocates nothing in
// steady state. Score and ScoreRank allocate only their results and, from
// 4,096 candidates, split the catalogue pass across GOMAXPROCS goroutines
// as models.Model does.
//
// # What the tests hold
//
// adapt_test.go, on 16 synthetic configs (FCNN and NCF; with and without
// the encoder; adapt none, [last], [head], [last, head]; ranking score and
// learned step sizes alternating; every weight random, the output layer
// included):
//
//   - the adapted tensors (every FastNames tensor, the initial u with and
//     without an offset, the taste) equal those of a graph built from
//     lib/models' exported Config.ItemTower, AdaptUsers and Taste, for
//     K = 0, 1, 3, 10 in both domains, to 2e-4·(1+|v|);
//   - predictions and ranking scores over the whole catalogue equal
//     models.Model.ScoreRank, and so do ScoreInto, both ablations and
//     ScoreCrossRank (a source history in the other domain);
//   - testing.AllocsPerRun: ScoreInto with a source history and K = 10
//     makes 0 allocations;
//   - on the real exports when artifacts are present ($CROSSREC_ARTIFACTS or
//     the repository's artifacts/, skipped otherwise and under -short):
//     maml, maml-fo, reptile, ncf, fcnn and maml-lodo-books seed 1, every
//     domain, the same comparisons as above.
//
// # Measured
//
// See README.md: numbers were taken on a 2-core machine shared with a
// running dvc repro, so they are noisy.
package adapt
