package plots

import (
	"strconv"
)

// Num prints x with prec decimals, "-" when undefined (NaN or infinite).
func Num(x float64, prec int) string {
	if !valid(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// Pct prints a share (0.25) as a percentage with one decimal ("25.0%").
func Pct(x float64) string {
	if !valid(x) {
		return "-"
	}
	return Num(100*x, 1) + "%"
}

// PlusMinus prints a mean and its spread ("0.123 ± 0.004"); the mean alone
// when the spread is undefined.
func PlusMinus(mean, spread float64, prec int) string {
	if !valid(spread) {
		return Num(mean, prec)
	}
	return Num(mean, prec) + " ± " + Num(spread, prec)
}

// Count prints an integer with thousands separators ("1,234,567").
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
