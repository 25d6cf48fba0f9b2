// Package normalize fits scalers on meta-train users' data only and applies
// them to every row.
//
// Where each statistic is fitted, and why nothing leaks:
//   - Ratings: min-max over the ratings of meta-train users of the domain.
//   - Play counts: log1p, then min-max over meta-train users' play counts;
//     the log tames counts that span five orders of magnitude.
//   - Item popularity (how many users interacted): counted over meta-train
//     users only, then log1p and standard scaling over the domain's catalogue.
//   - Published ratings counts (book metadata): log1p and standard scaling
//     over the catalogue; they are publisher aggregates, not our users' rows.
//
// The user groups come from split.Assigner, a pure function of the user id
// and the split params, so normalize knows who is held out without reading
// the split artifact and no held-out user's value ever moves a statistic.
// Held-out users are transformed with the training fit, exactly as a new
// user would be at serving time; their values may fall outside [0, 1].
package normalize

import "math"

// Fitting methods.
const (
	MinMax        = "minmax"
	Log1pMinMax   = "log1p-minmax"
	Log1pStandard = "log1p-standard"
)

// Stats accumulates what a scaler needs, with Welford's update so the
// variance stays accurate over millions of values.
type Stats struct {
	N        int64
	Min, Max float64
	mean, m2 float64
}

// Add records x.
func (s *Stats) Add(x float64) {
	if s.N == 0 || x < s.Min {
		s.Min = x
	}
	if s.N == 0 || x > s.Max {
		s.Max = x
	}
	s.N++
	d := x - s.mean
	s.mean += d / float64(s.N)
	s.m2 += d * (x - s.mean)
}

// Mean is the mean of the values added.
func (s *Stats) Mean() float64 { return s.mean }

// Std is the population standard deviation of the values added.
func (s *Stats) Std() float64 {
	if s.N == 0 {
		return 0
	}
	return math.Sqrt(s.m2 / float64(s.N))
}

// pre is the transform applied before fitting and scaling.
func pre(method string, x float64) float64 {
	if method == MinMax {
		return x
	}
	return math.Log1p(x)
}

// Apply transforms x with a fitted scaler. A degenerate fit (one distinct
// value, or nothing to fit on) maps to the middle of the range (0.5 for
// min-max, 0 for standard scaling) instead of dividing by zero.
func Apply(method string, min, max, mean, std, x float64) float64 {
	v := pre(method, x)
	switch method {
	case MinMax, Log1pMinMax:
		if max <= min {
			return 0.5
		}
		return (v - min) / (max - min)
	case Log1pStandard:
		if std == 0 {
			return 0
		}
		return (v - mean) / std
	}
	panic("normalize: unknown method " + method)
}

// Invert maps a min-max scaled value back to the original scale, for
// reporting predictions in stars or plays.
func Invert(method string, min, max, y float64) float64 {
	v := min + y*(max-min)
	if method == Log1pMinMax {
		return math.Expm1(v)
	}
	return v
}
