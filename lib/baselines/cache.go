package baselines

import (
	"gonum.org/v1/gonum/mat"
)

// The caches below keep, while one domain is tuned, what settings share:
// a peer's neighbour lists at the largest K of the grid (a smaller K is a
// prefix), or its factors at the largest rank. Reset frees them before the
// next domain.

// KNNCache caches ItemKNN neighbour lists per (domain, shrinkage).
type KNNCache struct {
	t    *Train
	kmax int
	rows map[[2]float64][][]edge
}

// NewKNNCache returns an empty cache for neighbour lists of up to kmax.
func NewKNNCache(t *Train, kmax int) *KNNCache {
	return &KNNCache{t: t, kmax: kmax, rows: map[[2]float64][][]edge{}}
}

// Fit installs domain d of m at k neighbours and the given shrinkage.
func (c *KNNCache) Fit(m *ItemKNN, d, k int, shrink float64) {
	key := [2]float64{float64(d), shrink}
	rows, ok := c.rows[key]
	if !ok {
		rows = knnRows(c.t.UserItems(d), c.t.Items[d], shrink, max(k, c.kmax))
		c.rows[key] = rows
	}
	m.setDomain(d, rows, k, shrink)
}

// Reset frees the cached lists.
func (c *KNNCache) Reset() { clear(c.rows) }

// RP3Cache caches RP3beta out-links per (domain, alpha, beta).
type RP3Cache struct {
	t    *Train
	kmax int
	rows map[[3]float64][][]edge
}

// NewRP3Cache returns an empty cache for out-links of up to kmax.
func NewRP3Cache(t *Train, kmax int) *RP3Cache {
	return &RP3Cache{t: t, kmax: kmax, rows: map[[3]float64][][]edge{}}
}

// Fit installs domain d of m.
func (c *RP3Cache) Fit(m *RP3beta, d int, alpha, beta float64, k int) {
	key := [3]float64{float64(d), alpha, beta}
	rows, ok := c.rows[key]
	if !ok {
		rows = rp3Rows(c.t.UserItems(d), c.t.Items[d], alpha, beta, max(k, c.kmax))
		c.rows[key] = rows
	}
	m.setDomain(d, rows, alpha, beta, k)
}

// Reset frees the cached lists.
func (c *RP3Cache) Reset() { clear(c.rows) }

// SVDCache caches each domain's leading singular vectors at the largest
// rank: the first f of them are the rank-f solution.
type SVDCache struct {
	t    *Train
	fmax int
	v    map[int]*mat.Dense
}

// NewSVDCache returns an empty cache for up to fmax factors.
func NewSVDCache(t *Train, fmax int) *SVDCache {
	return &SVDCache{t: t, fmax: fmax, v: map[int]*mat.Dense{}}
}

// Fit installs domain d of m with f factors.
func (c *SVDCache) Fit(m *PureSVD, d, f int) error {
	v, ok := c.v[d]
	if !ok {
		v = svdFactors(c.t, d, max(f, c.fmax))
		c.v[d] = v
	}
	if v == nil {
		return m.FitPureSVD(c.t, d, f) // reports the missing data
	}
	m.setDomain(d, v, f)
	return nil
}

// Reset frees the cached factors.
func (c *SVDCache) Reset() { clear(c.v) }

// PearsonCache caches KNNBaseline neighbour lists per (domain, shrinkage).
type PearsonCache struct {
	t    *Train
	m    *KNNBaseline
	rows map[[2]float64][][]edge
}

// NewPearsonCache returns an empty cache for m's neighbour lists.
func NewPearsonCache(t *Train, m *KNNBaseline) *PearsonCache {
	return &PearsonCache{t: t, m: m, rows: map[[2]float64][][]edge{}}
}

// Fit installs domain d of the cache's model.
func (c *PearsonCache) Fit(d, k int, shrink, alpha float64) {
	key := [2]float64{float64(d), shrink}
	rows, ok := c.rows[key]
	if !ok {
		rows = c.m.pearsonRows(c.t, d, shrink)
		c.rows[key] = rows
	}
	c.m.setDomain(d, rows, k, shrink, alpha)
}

// Reset frees the cached lists.
func (c *PearsonCache) Reset() { clear(c.rows) }
