package eda

import (
	"fmt"

	"github.com/crossrec/crossrec/lib/params"
)

// Options are the EDA knobs (params.yaml's eda section). Zero values take
// the defaults.
type Options struct {
	// TopShare is the share of most active users / most popular items whose
	// share of interactions is reported (default 0.2).
	TopShare float64 `json:"top_share"`
	// CoverShare is the share of interactions whose fewest carrying users /
	// items are counted (default 0.8).
	CoverShare float64 `json:"cover_share"`
	// TopGenres is how many genres each frequency list keeps (default 20).
	TopGenres int `json:"top_genres"`
	// Pairs are the domain pairs whose shared users' preferences are correlated.
	Pairs []Pair `json:"pairs"`
}

// Pair names two domains whose users overlap (the Douban book/music pair).
type Pair struct {
	A string `json:"a"`
	B string `json:"b"`
}

func (o Options) withDefaults() (Options, error) {
	if o.TopShare == 0 {
		o.TopShare = 0.2
	}
	if o.CoverShare == 0 {
		o.CoverShare = 0.8
	}
	if o.TopGenres == 0 {
		o.TopGenres = 20
	}
	if !(o.TopShare > 0 && o.TopShare <= 1) {
		return o, fmt.Errorf("eda: top_share %v outside (0, 1]", o.TopShare)
	}
	if !(o.CoverShare > 0 && o.CoverShare <= 1) {
		return o, fmt.Errorf("eda: cover_share %v outside (0, 1]", o.CoverShare)
	}
	if o.TopGenres < 0 {
		return o, fmt.Errorf("eda: top_genres %d is negative", o.TopGenres)
	}
	for _, p := range o.Pairs {
		if p.A == "" || p.B == "" || p.A == p.B {
			return o, fmt.Errorf("eda: correlation pair %q/%q: want two different domains", p.A, p.B)
		}
	}
	if o.Pairs == nil {
		o.Pairs = []Pair{}
	}
	return o, nil
}

// OptionsFrom reads params.yaml's eda section: its top_share and its
// correlation pair (source as A, target as B; none when both are empty).
func OptionsFrom(p params.EDA) Options {
	o := Options{TopShare: p.TopShare}
	if c := p.CorrelationPair; c.Source != "" || c.Target != "" {
		o.Pairs = []Pair{{A: c.Source, B: c.Target}}
	}
	return o
}
