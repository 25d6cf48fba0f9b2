package eda

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/crossrec/crossrec/lib/params"
)

func TestOptionsFrom(t *testing.T) {
	o := OptionsFrom(params.EDA{TopShare: 0.1, CorrelationPair: params.CrossPair{Source: "douban-book", Target: "douban-music"}})
	if o.TopShare != 0.1 || !slices.Equal(o.Pairs, []Pair{{"douban-book", "douban-music"}}) {
		t.Errorf("OptionsFrom = %+v", o)
	}
	if o := OptionsFrom(params.EDA{}); o.Pairs != nil {
		t.Errorf("no pair configured, got %+v", o.Pairs)
	}
	a := mustNew(t, OptionsFrom(params.EDA{}))
	s := result(t, a)
	if s.Options.TopShare != 0.2 || s.Options.CoverShare != 0.8 || s.Options.TopGenres != 20 {
		t.Errorf("defaults %+v", s.Options)
	}
}

func TestStatsJSON(t *testing.T) {
	a := mustNew(t, Options{})
	feed(t, a, rating("d", "u", "i", 4)) // one user, one item: many stats undefined
	b, err := result(t, a).JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("}\n")) || bytes.Contains(b, []byte("NaN")) {
		t.Errorf("JSON:\n%s", b)
	}
	var back Stats
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if r := back.Domains[0].Ratings; r.VarianceSample.Valid() || r.Mean != 4 {
		t.Errorf("round trip: sample variance %v (want NaN from null), mean %v", r.VarianceSample, r.Mean)
	}
}
