package eda

import (
	"encoding/json"
	"math"
)

// Float is a statistic that may be undefined. NaN (and ±Inf) marshal to
// JSON null, since JSON cannot carry them and encoding/json would fail;
// null unmarshals back to NaN.
type Float float64

// NaN is the undefined Float.
func NaN() Float { return Float(math.NaN()) }

// Valid reports whether f is a finite number.
func (f Float) Valid() bool {
	return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0)
}

// MarshalJSON writes null for an undefined value, else the number as
// encoding/json writes a float64.
func (f Float) MarshalJSON() ([]byte, error) {
	if !f.Valid() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// UnmarshalJSON reads null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = NaN()
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

func ratio(num, den float64) Float {
	if den == 0 {
		return NaN()
	}
	return Float(num / den)
}
