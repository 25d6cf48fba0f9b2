// Package recommend is the contract between the models, the evaluation
// harness and the serving command: anything that can score a domain's items
// for a user described by a few ratings.
package recommend

import "github.com/crossrec/crossrec/lib/tasks"

// Scorer predicts, for a user known only by a support set, the normalised
// value (the scale of tasks.Rated.Norm) they would give each candidate item.
// Adapting to the support set (a user bias, inner gradient steps) happens
// inside Score. Support may be empty: the pure cold start.
type Scorer interface {
	Name() string
	Score(domain int32, support []tasks.Rated, candidates []int32) ([]float32, error)
}

// CrossScorer also uses the user's history in another domain, for users
// known in a source domain and new in the target.
type CrossScorer interface {
	Scorer
	ScoreCross(sourceDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, candidates []int32) ([]float32, error)
}

// Ranker is a Scorer that orders candidates by a score of its own rather
// than by the predicted value: a recommender ranks by how likely the user
// is to pick an item and like it, and predicts the rating they would give
// it if they did. The evaluation ranks by rank and measures errors on
// pred; Score returns pred.
type Ranker interface {
	Scorer
	ScoreRank(domain int32, support []tasks.Rated, candidates []int32) (pred, rank []float32, err error)
}

// CrossRanker is a Ranker that also uses a source-domain history.
type CrossRanker interface {
	Ranker
	ScoreCrossRank(sourceDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, candidates []int32) (pred, rank []float32, err error)
}
