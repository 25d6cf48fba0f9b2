package eval

// Test-only exports for the real-data tests (package eval_test).

// Mean is the oracle's fallback prediction.
func (o *Oracle) Mean() float32 { return o.mu }

// PairedMeanSE is the mean and standard error of a - b over the users
// defined in both.
func PairedMeanSE(a, b []float64) (mean, se float64, n int) { return pairedDiff(a, b) }
