package eval

import (
	"cmp"
	"slices"

	"github.com/crossrec/crossrec/lib/artifact"
)

// Prediction is one row of artifacts/evaluate/predictions.parquet: one
// item of one user's ranking, for one model, seed, protocol and support
// size. A user's rows are every query item (observed, with its rank among
// all candidates, however low) and the top-ranked items that are not query
// items (unobserved), so a notebook can recompute any metric at any
// cut-off up to the largest reported one, or any error, from this table.
type Prediction struct {
	// Protocol: cold (meta-test users), warm (meta-train users' held-out
	// tail) or cross:<source>_to_<target> (Douban users new to the target).
	Protocol string  `parquet:"protocol,dict"`
	Domain   string  `parquet:"domain,dict"` // the domain ranked
	Model    string  `parquet:"model,dict"`
	Seed     int64   `parquet:"seed"`
	K        int32   `parquet:"k"` // support size the model adapted on
	User     string  `parquet:"user,dict"`
	Item     int32   `parquet:"item"`  // dense item index in the domain (items.arrow)
	Score    float32 `parquet:"score"` // the model's predicted value, on the normalised scale
	// RankScore is what the ranking is by: a recommend.Ranker's own
	// ranking score, else the prediction again.
	RankScore float32  `parquet:"rank_score"`
	Rank      int32    `parquet:"rank"` // 1-based among the user's candidates (whole catalogue minus support pool)
	InQuery   bool     `parquet:"in_query"`
	Observed  *float32 `parquet:"observed,optional"` // raw value of a query item (stars, plays); null when unobserved
	Relevant  bool     `parquet:"relevant"`
	ItemCold  bool     `parquet:"item_cold"` // no train.arrow row has the item
}

// predictionWriter streams prediction rows into the artifact in the order
// they are produced, which the runner keeps deterministic.
type predictionWriter struct {
	w   *artifact.Writer[Prediction]
	buf []Prediction
}

func newPredictionWriter(path string, l artifact.Lineage) (*predictionWriter, error) {
	w, err := artifact.Create[Prediction](path, l)
	if err != nil {
		return nil, err
	}
	return &predictionWriter{w: w, buf: make([]Prediction, 0, 1<<14)}, nil
}

// add appends one case's rows in rank order: the query items and the top
// items that are not query items (ranks are positions in one ranking, so
// they never repeat).
func (pw *predictionWriter) add(protocol, domain, model string, seed uint64, c *userCase, r *caseResult, cold []bool) error {
	v := &r.views[0] // the whole-catalogue ranking
	base := Prediction{Protocol: protocol, Domain: domain, Model: model, Seed: int64(seed), K: int32(c.k), User: c.user}
	start := len(pw.buf)
	inQuery := make(map[int32]bool, len(c.query))
	for i, x := range c.query {
		inQuery[x.Item] = true
		p := base
		obs := x.Raw
		p.Item, p.Score, p.RankScore, p.Rank, p.InQuery, p.Observed, p.Relevant, p.ItemCold = x.Item, r.qScore[i], r.qRankScore[i], v.qRank[i], true, &obs, c.rel[i], x.Cold
		pw.buf = append(pw.buf, p)
	}
	for t, it := range v.top {
		if inQuery[it] {
			continue
		}
		p := base
		p.Item, p.Score, p.RankScore, p.Rank, p.ItemCold = it, v.topPred[t], v.topScore[t], int32(t+1), cold[it]
		pw.buf = append(pw.buf, p)
	}
	rows := pw.buf[start:]
	slices.SortFunc(rows, func(a, b Prediction) int { return cmp.Compare(a.Rank, b.Rank) })
	if len(pw.buf) >= cap(pw.buf)/2 {
		return pw.flush()
	}
	return nil
}

func (pw *predictionWriter) flush() error {
	if len(pw.buf) == 0 {
		return nil
	}
	err := pw.w.Write(pw.buf)
	pw.buf = pw.buf[:0]
	return err
}

func (pw *predictionWriter) close() error {
	if err := pw.flush(); err != nil {
		pw.w.Abort()
		return err
	}
	_, err := pw.w.Close()
	return err
}
