package metrics

import "math"

// Errors accumulates prediction errors pooled over every (user, item) pair,
// in whatever unit the caller converts predictions and observations to.
type Errors struct {
	N      int
	SumAbs float64
	SumSq  float64
}

// Add records one prediction and its observed value.
func (e *Errors) Add(pred, obs float64) {
	d := pred - obs
	e.N++
	e.SumAbs += math.Abs(d)
	e.SumSq += d * d
}

// Merge adds another accumulator's pairs.
func (e *Errors) Merge(o Errors) {
	e.N += o.N
	e.SumAbs += o.SumAbs
	e.SumSq += o.SumSq
}

// MAE is the mean absolute error; NaN with no pairs.
func (e Errors) MAE() float64 {
	if e.N == 0 {
		return math.NaN()
	}
	return e.SumAbs / float64(e.N)
}

// MSE is the mean squared error; NaN with no pairs.
func (e Errors) MSE() float64 {
	if e.N == 0 {
		return math.NaN()
	}
	return e.SumSq / float64(e.N)
}

// RMSE is the square root of the pooled MSE (not a mean of per-user RMSEs).
func (e Errors) RMSE() float64 { return math.Sqrt(e.MSE()) }

// MAE of paired slices; NaN when empty or of different lengths.
func MAE(pred, obs []float64) float64 { return errorsOf(pred, obs).MAE() }

// MSE of paired slices; NaN when empty or of different lengths.
func MSE(pred, obs []float64) float64 { return errorsOf(pred, obs).MSE() }

// RMSE of paired slices; NaN when empty or of different lengths.
func RMSE(pred, obs []float64) float64 { return errorsOf(pred, obs).RMSE() }

func errorsOf(pred, obs []float64) Errors {
	var e Errors
	if len(pred) != len(obs) {
		return e
	}
	for i := range pred {
		e.Add(pred[i], obs[i])
	}
	return e
}
