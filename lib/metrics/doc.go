// Package metrics holds the evaluation's metrics as small pure functions and
// accumulators, each tested on hand-computed cases, so every number the
// evaluate stage reports can be traced to one definition here.
//
// Conventions shared by every metric:
//
//   - A ranking orders candidates by score, highest first, and breaks ties
//     by the lower item index (Better). Equal scores therefore give one
//     reproducible order for every model, and a model that scores every
//     item the same is ranked in catalogue order, never in an order that
//     happens to favour it.
//   - A ranked list is given to the ranking metrics as hit flags: hits[i]
//     is true when the item at rank i+1 is relevant.
//   - Cut-off K larger than the list: the missing ranks count as misses
//     (trec_eval's convention), so precision@K always divides by K.
//   - A user with no relevant item has no defined recall or NDCG; the
//     functions return NaN and Ranking leaves such users out of all four
//     ranking metrics (precision too, so the averages cover the same users),
//     counting them in Excluded.
//   - Averages over users are macro averages (every user weighs the same);
//     error metrics are pooled over all (user, item) pairs.
package metrics
