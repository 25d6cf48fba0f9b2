package eval

import (
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/tasks"
)

// relevant flags the query items that count as hits. The rule depends on
// the domain's value kind, never on a model:
//
//   - ratings: raw rating >= RatingMin stars (4 of 5: "liked"), the same on
//     MovieLens' 0.5-5 half-star scale and goodbooks' and Douban's 1-5;
//   - play counts: the user's top PlaycountTopShare of query items by plays,
//     at least one, ties at the cut all relevant. Every listened artist has
//     plays >= 1, so an absolute threshold would make nearly everything
//     relevant; "the user's favourites" is relative to the user.
func (c Config) relevant(kind string, query []tasks.Rated) []bool {
	rel := make([]bool, len(query))
	if len(query) == 0 {
		return rel
	}
	if kind == schema.KindRating {
		for i, x := range query {
			rel[i] = float64(x.Raw) >= c.RatingMin
		}
		return rel
	}
	m := max(1, int(math.Ceil(c.PlaycountTopShare*float64(len(query))-1e-9)))
	raw := make([]float32, len(query))
	for i, x := range query {
		raw[i] = x.Raw
	}
	slices.Sort(raw)
	cut := raw[len(raw)-m]
	for i, x := range query {
		rel[i] = x.Raw >= cut
	}
	return rel
}
