// Package eda computes the exploratory statistics of the interaction data
// that the eda stage writes as a JSON artifact and the notebooks plot.
//
// # Streaming and memory
//
// An Accumulator is fed catalogue items (AddItem) and interactions
// (AddInteraction) one at a time, in any order, and Result summarises them.
// It keeps one small record per user and per item of each domain and one
// counter per distinct value (rating, play count, genre, activity count),
// never anything per interaction, so the full MovieLens 25M (162k users,
// 59k movies, 10 distinct ratings) fits in a few tens of megabytes.
//
// # Determinism
//
// Result does not depend on the order of the input where exact arithmetic
// allows: counts are integers, every float statistic is computed from
// value histograms or per-user sums in a fixed (sorted) order, and every
// slice is sorted. Per-user rating sums are exact, hence order-free, for
// ratings on a half-star grid (any value k/2^j of modest size); for other
// values they can differ in the last bit between input orders.
//
// # Definitions
//
// Sparsity of a domain is 1 - interactions / (users * items), with users
// and items counted as those with at least one interaction. It assumes one
// interaction per (user, item) pair, as the clean stage guarantees;
// repeated pairs would make it look denser.
//
// Quantiles are Hyndman & Fan type 7 (numpy's default): for n sorted values
// x[0..n-1] and level p, h = (n-1)p and q = x[floor h] + (h - floor h) *
// (x[floor h + 1] - x[floor h]). The median is p = 0.5, the mean of the two
// middle values when n is even.
//
// Variance is given both ways: population sigma^2 = sum (x - mean)^2 / n
// and sample s^2 = sum (x - mean)^2 / (n - 1). Both are computed in two
// passes over the exact value histogram, which is as numerically stable as
// Welford's update (no E[x^2] - E[x]^2 cancellation) and, unlike it, gives
// the same bits whatever the input order.
//
// Log bins are powers of two: bin k holds values in [2^k, 2^(k+1)); values
// below 1 (zero play counts) share the bin [0, 1). Bins run contiguously
// from the smallest to the largest value, empty ones included, so a
// log-log long-tail plot draws Count / (Hi - Lo) against the bin.
//
// The Gini coefficient of non-negative counts x_1 <= ... <= x_n with total
// T > 0 is G = sum_i (2i - n - 1) x_i / (n T): 0 when every user or item
// has the same count, (n-1)/n when one holds everything. It is undefined
// (null) when T = 0.
//
// Top share: with k = ceil(top_share * n) (at least 1), the share of
// interactions on the k most active users or most popular items. Cover
// share: the smallest k whose top-k carry at least cover_share (0.8) of the
// interactions, reported as k and k / n.
//
// # Cross-domain correlation
//
// For a pair of domains (A, B), the users present in both (user ids are
// namespaced, so the same Douban person has one id in Douban books and
// Douban music) are paired, and three per-user quantities are correlated
// across the two domains:
//
//   - mean rating: the user's mean rating in A vs in B (rating domains only);
//   - deviation: the user's mean rating minus the domain's mean rating over
//     all its interactions, in A vs in B. A per-domain constant shift leaves
//     Pearson and Spearman unchanged, so these equal the mean-rating
//     correlations by construction; what deviation adds is MeanA/MeanB, how
//     far the overlapping users sit from each domain's average;
//   - activity: log of the user's interaction count in A vs in B.
//
// Pearson r = sum (x-mx)(y-my) / sqrt(sum (x-mx)^2 sum (y-my)^2), computed
// in two passes over users sorted by id. Spearman rho is Pearson r of the
// ranks, ties given the average of the ranks they span (1-based). Both are
// undefined (null) for fewer than two users or a constant variable.
//
// # NaN in JSON
//
// A statistic that is undefined (a mean of nothing, a correlation of a
// constant) is NaN in Go and written as JSON null by the Float type; JSON
// has no NaN, and a 0 would be a lie. Float reads null back as NaN.
package eda
