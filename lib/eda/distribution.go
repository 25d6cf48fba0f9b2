package eda

import "math"

// Distribution describes how interactions spread over users (activity) or
// items (popularity): N entities with at least one interaction, holding
// Total interactions. See the package doc for the definitions.
type Distribution struct {
	N         int64      `json:"n"`
	Total     int64      `json:"total"`
	Min       int64      `json:"min"`
	Max       int64      `json:"max"`
	Mean      Float      `json:"mean"`
	Quantiles []Quantile `json:"quantiles"`
	LogBins   []Bin      `json:"log_bins"`
	Gini      Float      `json:"gini"`
	// TopShare is the share parameter; TopCount = ceil(TopShare * N) entities,
	// the most active, carry TopInteractionShare of Total.
	TopShare            float64 `json:"top_share"`
	TopCount            int64   `json:"top_count"`
	TopInteractionShare Float   `json:"top_interaction_share"`
	// CoverCount is the fewest entities that carry CoverShare of Total;
	// CoverFraction = CoverCount / N.
	CoverShare    float64 `json:"cover_share"`
	CoverCount    int64   `json:"cover_count"`
	CoverFraction Float   `json:"cover_fraction"`
}

// distribution summarises per-entity counts given as a histogram of counts
// (count -> number of entities with it), so its cost is the number of
// distinct counts, not of entities.
func distribution(counts histogram, topShare, coverShare float64) Distribution {
	vc := counts.sorted()
	n := count(vc)
	d := Distribution{
		N: n, Mean: NaN(), Quantiles: quantiles(vc, n), LogBins: logBins(vc), Gini: NaN(),
		TopShare: topShare, TopInteractionShare: NaN(), CoverShare: coverShare, CoverFraction: NaN(),
	}
	if n == 0 {
		return d
	}
	var total float64
	for _, c := range vc {
		total += c.Value * float64(c.Count)
	}
	d.Total = int64(total)
	d.Min, d.Max = int64(vc[0].Value), int64(vc[len(vc)-1].Value)
	d.Mean = Float(total / float64(n))
	d.Gini = gini(vc)
	d.TopCount = int64(math.Ceil(topShare*float64(n) - 1e-9))
	d.TopCount = min(max(d.TopCount, 1), n)
	d.TopInteractionShare = ratio(topSum(vc, d.TopCount), total)
	d.CoverCount = coverCount(vc, coverShare*total-1e-9*max(1, total))
	d.CoverFraction = Float(float64(d.CoverCount) / float64(n))
	return d
}

// gini is G = sum_i (2i - n - 1) x_i / (n T) over the ascending values
// x_1..x_n. A run of c equal values v at ranks i0+1..i0+c adds
// v * c * (2*i0 + c - n), so the sum is one term per distinct value.
func gini(vc []ValueCount) Float {
	var n, total float64
	for _, c := range vc {
		n += float64(c.Count)
		total += c.Value * float64(c.Count)
	}
	if total == 0 {
		return NaN()
	}
	var s, i0 float64
	for _, c := range vc {
		k := float64(c.Count)
		s += c.Value * k * (2*i0 + k - n)
		i0 += k
	}
	return Float(s / (n * total))
}

// topSum is the sum of the k largest values.
func topSum(vc []ValueCount, k int64) float64 {
	var s float64
	for i := len(vc) - 1; i >= 0 && k > 0; i-- {
		take := min(vc[i].Count, k)
		s += vc[i].Value * float64(take)
		k -= take
	}
	return s
}

// coverCount is the fewest largest values whose sum reaches target.
func coverCount(vc []ValueCount, target float64) int64 {
	var k int64
	var cum float64
	for i := len(vc) - 1; i >= 0; i-- {
		c := vc[i]
		if cum >= target {
			break
		}
		if c.Value > 0 && cum+c.Value*float64(c.Count) >= target {
			j := int64(math.Ceil((target - cum) / c.Value))
			return k + min(max(j, 1), c.Count)
		}
		cum += c.Value * float64(c.Count)
		k += c.Count
	}
	return k
}
