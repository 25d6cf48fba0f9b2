package eda

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/schema"
)

// Stats is the EDA artifact: plain data with JSON tags, every slice sorted,
// so the same input gives the same bytes.
type Stats struct {
	Options Options       `json:"options"`
	Domains []DomainStats `json:"domains"` // by domain name
	Pairs   []PairStats   `json:"pairs"`   // in Options.Pairs order
}

// DomainStats are one domain's statistics.
type DomainStats struct {
	Domain string `json:"domain"`
	Kind   string `json:"kind"` // rating or playcount; "" for a catalogue without interactions
	// Interactions, and the Users and Items with at least one of them.
	Interactions int64 `json:"interactions"`
	Users        int64 `json:"users"`
	Items        int64 `json:"items"`
	// Catalogue is the number of items added with AddItem; CatalogueUnrated of
	// them have no interaction. OffCatalogue counts interactions on items
	// that are not in the catalogue (all of them for a domain without one).
	Catalogue        int64 `json:"catalogue"`
	CatalogueUnrated int64 `json:"catalogue_unrated"`
	OffCatalogue     int64 `json:"off_catalogue"`
	// Sparsity is 1 - Interactions / (Users * Items).
	Sparsity        Float            `json:"sparsity"`
	Ratings         *RatingStats     `json:"ratings,omitempty"`    // Kind rating only
	Playcounts      *PlaycountStats  `json:"playcounts,omitempty"` // Kind playcount only
	SourceGenres    GenreFrequencies `json:"source_genres"`
	UniversalGenres GenreFrequencies `json:"universal_genres"`
	UserActivity    Distribution     `json:"user_activity"`
	ItemPopularity  Distribution     `json:"item_popularity"`
}

// RatingStats describe the rating values of a domain.
type RatingStats struct {
	N      int64 `json:"n"`
	Mean   Float `json:"mean"`
	Median Float `json:"median"`
	// VariancePopulation divides by n, VarianceSample by n - 1.
	VariancePopulation Float        `json:"variance_population"`
	VarianceSample     Float        `json:"variance_sample"`
	Min                Float        `json:"min"`
	Max                Float        `json:"max"`
	Histogram          []ValueCount `json:"histogram"` // every distinct rating, ascending
}

// PlaycountStats describe the play-count values of a domain.
type PlaycountStats struct {
	N         int64      `json:"n"`
	Distinct  int64      `json:"distinct"`
	Min       Float      `json:"min"`
	Max       Float      `json:"max"`
	Mean      Float      `json:"mean"`
	Median    Float      `json:"median"`
	Quantiles []Quantile `json:"quantiles"`
	LogBins   []Bin      `json:"log_bins"`
}

// PairStats correlate the preferences of the users two domains share.
type PairStats struct {
	A       string `json:"a"`
	B       string `json:"b"`
	UsersA  int64  `json:"users_a"`
	UsersB  int64  `json:"users_b"`
	Overlap int64  `json:"overlap"`
	// MeanRating and Deviation are present when both domains hold ratings.
	MeanRating *Correlation          `json:"mean_rating,omitempty"`
	Deviation  *DeviationCorrelation `json:"deviation,omitempty"`
	Activity   Correlation           `json:"activity"` // log interaction counts
}

// Result summarises everything added so far. It may be called more than
// once. A correlation pair naming a domain that received nothing is an
// error: it is a misspelt domain, not an empty result.
func (a *Accumulator) Result() (*Stats, error) {
	s := &Stats{Options: a.opts, Domains: []DomainStats{}, Pairs: []PairStats{}}
	for _, name := range slices.Sorted(maps.Keys(a.domains)) {
		s.Domains = append(s.Domains, a.domainStats(name))
	}
	for _, p := range a.opts.Pairs {
		ps, err := a.pairStats(p)
		if err != nil {
			return nil, err
		}
		s.Pairs = append(s.Pairs, ps)
	}
	return s, nil
}

func (a *Accumulator) domainStats(name string) DomainStats {
	d := a.domains[name]
	ds := DomainStats{Domain: name, Kind: d.kind, Interactions: d.interactions, Users: int64(len(d.users))}
	popularity := histogram{}
	for _, it := range d.items {
		if it.n > 0 {
			ds.Items++
			popularity[float64(it.n)]++
		}
		if it.catalogue {
			ds.Catalogue++
			if it.n == 0 {
				ds.CatalogueUnrated++
			}
		} else {
			ds.OffCatalogue += it.n
		}
	}
	ds.Sparsity = NaN()
	if cells := float64(ds.Users) * float64(ds.Items); cells > 0 {
		ds.Sparsity = Float(1 - float64(ds.Interactions)/cells)
	}
	values := d.values.sorted()
	switch d.kind {
	case schema.KindRating:
		ds.Ratings = ratingStats(values)
	case schema.KindPlaycount:
		ds.Playcounts = playcountStats(values)
	}
	top := a.opts.TopGenres
	ds.SourceGenres = frequencies(d.source, d.items, func(it *itemAgg) []int32 { return it.source }, top)
	ds.UniversalGenres = frequencies(d.universal, d.items, func(it *itemAgg) []int32 { return it.universal }, top)
	activity := histogram{}
	for _, u := range d.users {
		activity[float64(u.n)]++
	}
	ds.UserActivity = distribution(activity, a.opts.TopShare, a.opts.CoverShare)
	ds.ItemPopularity = distribution(popularity, a.opts.TopShare, a.opts.CoverShare)
	return ds
}

func ratingStats(vc []ValueCount) *RatingStats {
	n := count(vc)
	r := &RatingStats{N: n, Median: quantile(vc, n, 0.5), Min: NaN(), Max: NaN(), Histogram: vc}
	r.Mean, r.VariancePopulation, r.VarianceSample = moments(vc, n)
	if n > 0 {
		r.Min, r.Max = Float(vc[0].Value), Float(vc[len(vc)-1].Value)
	}
	return r
}

func playcountStats(vc []ValueCount) *PlaycountStats {
	n := count(vc)
	p := &PlaycountStats{N: n, Distinct: int64(len(vc)), Min: NaN(), Max: NaN(),
		Median: quantile(vc, n, 0.5), Quantiles: quantiles(vc, n), LogBins: logBins(vc)}
	p.Mean, _, _ = moments(vc, n)
	if n > 0 {
		p.Min, p.Max = Float(vc[0].Value), Float(vc[len(vc)-1].Value)
	}
	return p
}

func (a *Accumulator) pairStats(p Pair) (PairStats, error) {
	da, db := a.domains[p.A], a.domains[p.B]
	for _, c := range []struct {
		name string
		d    *domain
	}{{p.A, da}, {p.B, db}} {
		if c.d == nil || c.d.interactions == 0 {
			return PairStats{}, fmt.Errorf("eda: correlation pair %s/%s: domain %s has no interactions", p.A, p.B, c.name)
		}
	}
	ps := PairStats{A: p.A, B: p.B, UsersA: int64(len(da.users)), UsersB: int64(len(db.users))}
	var shared []string
	for u := range da.users {
		if db.users[u] != nil {
			shared = append(shared, u)
		}
	}
	slices.Sort(shared) // fixes the summation order of every statistic below
	ps.Overlap = int64(len(shared))
	n := len(shared)
	actA, actB := make([]float64, n), make([]float64, n)
	meanA, meanB := make([]float64, n), make([]float64, n)
	for i, u := range shared {
		ua, ub := da.users[u], db.users[u]
		actA[i], actB[i] = math.Log(float64(ua.n)), math.Log(float64(ub.n))
		meanA[i], meanB[i] = ua.sum/float64(ua.n), ub.sum/float64(ub.n)
	}
	ps.Activity = correlate(actA, actB)
	if da.kind != schema.KindRating || db.kind != schema.KindRating {
		return ps, nil
	}
	mr := correlate(meanA, meanB)
	ps.MeanRating = &mr
	domA, _, _ := moments(da.values.sorted(), da.interactions)
	domB, _, _ := moments(db.values.sorted(), db.interactions)
	devA, devB := shift(meanA, float64(domA)), shift(meanB, float64(domB))
	ps.Deviation = &DeviationCorrelation{Correlation: correlate(devA, devB), MeanA: mean(devA), MeanB: mean(devB)}
	return ps, nil
}

func shift(x []float64, by float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v - by
	}
	return out
}

func mean(x []float64) Float {
	var s float64
	for _, v := range x {
		s += v
	}
	return ratio(s, float64(len(x)))
}

// JSON returns the indented JSON of s with a final newline: the bytes the
// eda stage writes, the same for the same input.
func (s *Stats) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("eda: %w", err)
	}
	return append(b, '\n'), nil
}
