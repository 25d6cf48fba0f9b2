package normalize

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/split"
)

// Paths names the stage's artifacts.
type Paths struct {
	InInteractions, InItems            string
	OutInteractions, OutItems, Scalers string
}

type scalerKey struct{ domain, feature string }

const batchRows = 8192

func methodFor(kind string) (string, error) {
	switch kind {
	case schema.KindRating:
		return MinMax, nil
	case schema.KindPlaycount:
		return Log1pMinMax, nil
	}
	return "", fmt.Errorf("no scaler for value kind %q", kind)
}

// Run fits the scalers on the users that assign puts in split.Train and
// writes normalised interactions, item figures and the scalers.
func Run(p Paths, assign split.Assigner, lineage artifact.Lineage) ([]schema.Scaler, error) {
	items, _, err := artifact.ReadAll[schema.Item](p.InItems)
	if err != nil {
		return nil, err
	}
	// The catalogue is the published items plus any item someone interacted
	// with that has no metadata row.
	type catItem struct {
		domain, item string
		meta         *schema.Item
	}
	var catalogue []catItem
	inCat := map[[2]string]bool{}
	for i := range items {
		k := [2]string{items[i].Domain, items[i].Item}
		if !inCat[k] {
			inCat[k] = true
			catalogue = append(catalogue, catItem{k[0], k[1], &items[i]})
		}
	}
	values := map[scalerKey]*Stats{}
	trainCount := map[[2]string]int64{}
	// Pass 1: complete the catalogue, and fit on training users only.
	_, err = artifact.Scan(p.InInteractions, batchRows, func(rows []schema.Interaction) error {
		for i := range rows {
			x := &rows[i]
			m, err := methodFor(x.Kind)
			if err != nil {
				return fmt.Errorf("%s: line %d of %s: %w", p.InInteractions, x.Line, x.Source, err)
			}
			if k := [2]string{x.Domain, x.Item}; !inCat[k] {
				inCat[k] = true
				catalogue = append(catalogue, catItem{x.Domain, x.Item, nil})
			}
			if assign.Group(x.User) != split.Train {
				continue
			}
			k := scalerKey{x.Domain, x.Kind}
			s := values[k]
			if s == nil {
				s = &Stats{}
				values[k] = s
			}
			s.Add(pre(m, x.Value))
			trainCount[[2]string{x.Domain, x.Item}]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(catalogue, func(a, b catItem) int {
		if c := cmp.Compare(a.domain, b.domain); c != 0 {
			return c
		}
		return cmp.Compare(a.item, b.item)
	})
	pop := map[string]*Stats{}
	rc := map[string]*Stats{}
	for _, c := range catalogue {
		get(pop, c.domain).Add(math.Log1p(float64(trainCount[[2]string{c.domain, c.item}])))
		if c.meta != nil && c.meta.RatingsCount != nil && *c.meta.RatingsCount >= 0 {
			get(rc, c.domain).Add(math.Log1p(float64(*c.meta.RatingsCount)))
		}
	}
	scalers := collectScalers(values, pop, rc)
	byKey := make(map[scalerKey]*schema.Scaler, len(scalers))
	for i := range scalers {
		byKey[scalerKey{scalers[i].Domain, scalers[i].Feature}] = &scalers[i]
	}
	find := func(domain, feature string) *schema.Scaler { return byKey[scalerKey{domain, feature}] }
	// Items.
	iw, err := artifact.Create[schema.NormItem](p.OutItems, lineage)
	if err != nil {
		return nil, err
	}
	defer iw.Abort()
	out := make([]schema.NormItem, 0, len(catalogue))
	for _, c := range catalogue {
		ni := schema.NormItem{Domain: c.domain, Item: c.item, TrainCount: trainCount[[2]string{c.domain, c.item}]}
		ps := find(c.domain, "popularity")
		ni.PopularityZ = Apply(ps.Method, ps.Min, ps.Max, ps.Mean, ps.Std, float64(ni.TrainCount))
		if c.meta != nil && c.meta.RatingsCount != nil && *c.meta.RatingsCount >= 0 {
			s := find(c.domain, "ratings_count")
			z := Apply(s.Method, s.Min, s.Max, s.Mean, s.Std, float64(*c.meta.RatingsCount))
			ni.RatingsCountZ = &z
		}
		if c.meta != nil && c.meta.AvgRating != nil {
			if s := find(c.domain, schema.KindRating); s != nil {
				v := Apply(s.Method, s.Min, s.Max, s.Mean, s.Std, *c.meta.AvgRating)
				ni.AvgRatingNorm = &v
			}
		}
		out = append(out, ni)
	}
	if err := iw.Write(out); err != nil {
		return nil, err
	}
	if _, err := iw.Close(); err != nil {
		return nil, err
	}
	// Pass 2: transform every interaction.
	w, err := artifact.Create[schema.NormInteraction](p.OutInteractions, lineage)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	buf := make([]schema.NormInteraction, 0, batchRows)
	_, err = artifact.Scan(p.InInteractions, batchRows, func(rows []schema.Interaction) error {
		buf = buf[:0]
		for _, x := range rows {
			s := find(x.Domain, x.Kind)
			if s == nil {
				return fmt.Errorf("%s: domain %q has no meta-train users with %s values to fit a scaler on", p.InInteractions, x.Domain, x.Kind)
			}
			buf = append(buf, schema.NormInteraction{Interaction: x, Norm: Apply(s.Method, s.Min, s.Max, s.Mean, s.Std, x.Value)})
		}
		return w.Write(buf)
	})
	if err != nil {
		return nil, err
	}
	if _, err := w.Close(); err != nil {
		return nil, err
	}
	sw, err := artifact.Create[schema.Scaler](p.Scalers, lineage)
	if err != nil {
		return nil, err
	}
	defer sw.Abort()
	if err := sw.Write(scalers); err != nil {
		return nil, err
	}
	if _, err := sw.Close(); err != nil {
		return nil, err
	}
	return scalers, nil
}

func get(m map[string]*Stats, k string) *Stats {
	s := m[k]
	if s == nil {
		s = &Stats{}
		m[k] = s
	}
	return s
}

// collectScalers turns the accumulated statistics into scaler rows, sorted
// by domain and feature.
func collectScalers(values map[scalerKey]*Stats, pop, rc map[string]*Stats) []schema.Scaler {
	var out []schema.Scaler
	for k, s := range values {
		m, _ := methodFor(k.feature)
		out = append(out, schema.Scaler{Domain: k.domain, Feature: k.feature, Method: m, FitOn: "train users", N: s.N, Min: s.Min, Max: s.Max, Mean: s.Mean(), Std: s.Std()})
	}
	for d, s := range pop {
		out = append(out, schema.Scaler{Domain: d, Feature: "popularity", Method: Log1pStandard, FitOn: "catalogue, counts of train users", N: s.N, Min: s.Min, Max: s.Max, Mean: s.Mean(), Std: s.Std()})
	}
	for d, s := range rc {
		out = append(out, schema.Scaler{Domain: d, Feature: "ratings_count", Method: Log1pStandard, FitOn: "catalogue metadata", N: s.N, Min: s.Min, Max: s.Max, Mean: s.Mean(), Std: s.Std()})
	}
	slices.SortFunc(out, func(a, b schema.Scaler) int {
		if c := cmp.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return cmp.Compare(a.Feature, b.Feature)
	})
	return out
}
