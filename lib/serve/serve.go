// Package serve is the adapt-and-recommend path: a new user names a
// domain and a few (item id, rating) pairs in the published scale (stars
// or play counts); the ratings are normalised with the scaler fitted on
// meta-train users, the model adapts to them, and the whole catalogue of
// the domain is scored and the best items returned with their predicted
// value back in the published scale.
package serve

import (
	"fmt"
	"slices"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/normalize"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Rating is one of the user's ratings, by published item id.
type Rating struct {
	Item  string
	Value float64 // in the published scale (stars, plays)
}

// Rec is one recommended item.
type Rec struct {
	Rank      int     `json:"rank"`
	Item      string  `json:"item"`
	Index     int32   `json:"index"`
	Score     float32 `json:"score"`     // ranking score (the order; the predicted normalised value for models without a ranking score)
	Value     float32 `json:"value"`     // predicted normalised value
	Predicted float64 `json:"predicted"` // the same in the published scale
}

// Service serves one model over one catalogue.
type Service struct {
	Model   *models.Model
	Items   *tasks.ItemTable
	scalers map[string]schema.Scaler // by domain: the rating or playcount scaler
	index   []map[string]int32       // item id -> index, by domain
}

// New builds a service from a loaded model, the items table and the
// normalisation scalers (artifacts/normalize/scalers.parquet).
func New(m *models.Model, items *tasks.ItemTable, scalersPath string) (*Service, error) {
	sc, _, err := artifact.ReadAll[schema.Scaler](scalersPath)
	if err != nil {
		return nil, err
	}
	s := &Service{Model: m, Items: items, scalers: map[string]schema.Scaler{}}
	for _, x := range sc {
		if x.Feature == "rating" || x.Feature == "playcount" {
			s.scalers[x.Domain] = x
		}
	}
	for _, d := range items.Domains {
		idx := make(map[string]int32, len(d.IDs))
		for i, id := range d.IDs {
			idx[id] = int32(i)
		}
		s.index = append(s.index, idx)
	}
	return s, nil
}

// Domains lists the domains served.
func (s *Service) Domains() []string {
	out := make([]string, len(s.Items.Domains))
	for i, d := range s.Items.Domains {
		out[i] = d.Name
	}
	return out
}

// Recommend adapts to the ratings and returns the n best items of the
// domain's catalogue, rated items excluded.
func (s *Service) Recommend(domain string, ratings []Rating, n int) ([]Rec, error) {
	d := slices.IndexFunc(s.Items.Domains, func(x tasks.ItemDomain) bool { return x.Name == domain })
	if d < 0 {
		return nil, fmt.Errorf("unknown domain %q (have %v)", domain, s.Domains())
	}
	sc, ok := s.scalers[domain]
	if !ok {
		return nil, fmt.Errorf("domain %q has no rating or playcount scaler", domain)
	}
	support := make([]tasks.Rated, 0, len(ratings))
	seen := map[int32]bool{}
	for _, r := range ratings {
		i, ok := s.index[d][r.Item]
		if !ok {
			return nil, fmt.Errorf("domain %s has no item %q", domain, r.Item)
		}
		if seen[i] {
			return nil, fmt.Errorf("item %q rated twice", r.Item)
		}
		seen[i] = true
		norm := normalize.Apply(sc.Method, sc.Min, sc.Max, sc.Mean, sc.Std, r.Value)
		support = append(support, tasks.Rated{Item: i, Norm: float32(norm), Raw: float32(r.Value)})
	}
	top, err := s.Model.Recommend(int32(d), support, n, s.Items.Domains[d].IDs)
	if err != nil {
		return nil, err
	}
	out := make([]Rec, len(top))
	for k, t := range top {
		out[k] = Rec{Rank: k + 1, Item: t.ID, Index: t.Index, Score: t.Score, Value: t.Value,
			Predicted: normalize.Invert(sc.Method, sc.Min, sc.Max, float64(t.Value))}
	}
	return out, nil
}
