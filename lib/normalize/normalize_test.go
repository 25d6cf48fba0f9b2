package normalize

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/split"
)

func TestStatsMatchesTwoPassFormulas(t *testing.T) {
	xs := []float64{1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16}
	var s Stats
	for _, x := range xs {
		s.Add(x)
	}
	// Mean 1e9+10; deviations -6,-3,3,6; population variance 90/4.
	if s.Mean() != 1e9+10 || math.Abs(s.Std()-math.Sqrt(22.5)) > 1e-9 || s.Min != 1e9+4 || s.Max != 1e9+16 || s.N != 4 {
		t.Fatalf("stats %+v mean %v std %v", s, s.Mean(), s.Std())
	}
}

func TestApplyAndInvert(t *testing.T) {
	if got := Apply(MinMax, 0.5, 5, 0, 0, 2.75); got != 0.5 {
		t.Fatalf("minmax(2.75 in [0.5,5]) = %v", got)
	}
	lo, hi := math.Log1p(1), math.Log1p(999)
	if got := Apply(Log1pMinMax, lo, hi, 0, 0, 999); math.Abs(got-1) > 1e-12 {
		t.Fatalf("log1p-minmax(max) = %v", got)
	}
	if got := Invert(Log1pMinMax, lo, hi, Apply(Log1pMinMax, lo, hi, 0, 0, 42)); math.Abs(got-42) > 1e-9 {
		t.Fatalf("invert = %v, want 42", got)
	}
	if got := Apply(Log1pStandard, 0, 0, math.Log1p(9), 2, 9); got != 0 {
		t.Fatalf("standard at mean = %v", got)
	}
	if Apply(MinMax, 3, 3, 0, 0, 3) != 0.5 || Apply(Log1pStandard, 0, 0, 1, 0, 5) != 0 {
		t.Fatal("degenerate fits must not divide by zero")
	}
}

// TestFitIgnoresHeldOutUsers is the leakage check: a held-out user's extreme
// values must not move any fitted statistic, yet are transformed with it.
func TestFitIgnoresHeldOutUsers(t *testing.T) {
	assign := split.Assigner{Seed: 1, Train: 0.5, Valid: 0.25}
	var trainUser, testUser string
	for i := 0; trainUser == "" || testUser == ""; i++ {
		u := "movies:" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		switch assign.Group(u) {
		case split.Train:
			if trainUser == "" {
				trainUser = u
			}
		case split.Test:
			if testUser == "" {
				testUser = u
			}
		}
	}
	run := func(testValue float64) ([]schema.Scaler, []schema.NormInteraction, []schema.NormItem) {
		dir := t.TempDir()
		in := filepath.Join(dir, "in.parquet")
		items := filepath.Join(dir, "items.parquet")
		xs := []schema.Interaction{
			{Domain: "movies", User: trainUser, Item: "a", Value: 1, Kind: schema.KindRating},
			{Domain: "movies", User: trainUser, Item: "b", Value: 5, Kind: schema.KindRating},
			{Domain: "movies", User: testUser, Item: "a", Value: testValue, Kind: schema.KindRating},
			{Domain: "movies", User: testUser, Item: "c", Value: testValue, Kind: schema.KindRating},
		}
		w, _ := artifact.Create[schema.Interaction](in, artifact.Lineage{Stage: "clean"})
		w.Write(xs)
		w.Close()
		iw, _ := artifact.Create[schema.Item](items, artifact.Lineage{Stage: "clean"})
		iw.Write([]schema.Item{{Domain: "movies", Item: "a"}, {Domain: "movies", Item: "b"}, {Domain: "movies", Item: "c"}})
		iw.Close()
		p := Paths{InInteractions: in, InItems: items, OutInteractions: filepath.Join(dir, "o.parquet"), OutItems: filepath.Join(dir, "oi.parquet"), Scalers: filepath.Join(dir, "s.parquet")}
		sc, err := Run(p, assign, artifact.Lineage{Stage: "normalize"})
		if err != nil {
			t.Fatal(err)
		}
		out, _, _ := artifact.ReadAll[schema.NormInteraction](p.OutInteractions)
		ni, _, _ := artifact.ReadAll[schema.NormItem](p.OutItems)
		return sc, out, ni
	}
	s1, out1, items1 := run(3)
	s2, out2, items2 := run(100)
	if len(s1) != 2 || s1[1].Feature != schema.KindRating || s1[1].Min != 1 || s1[1].Max != 5 || s1[1].N != 2 {
		t.Fatalf("scalers %+v", s1)
	}
	for i := range s1 {
		if s1[i] != s2[i] {
			t.Fatalf("a held-out user's values moved scaler %+v to %+v", s1[i], s2[i])
		}
	}
	if out1[2].Norm != 0.5 || out2[2].Norm != 99.0/4 {
		t.Fatalf("held-out values transformed to %v and %v", out1[2].Norm, out2[2].Norm)
	}
	// Item c is only seen by the held-out user: zero training popularity.
	if items1[2].TrainCount != 0 || items1[0].TrainCount != 1 || items1[2].PopularityZ != items2[2].PopularityZ {
		t.Fatalf("item popularity counts held-out users: %+v", items1)
	}
}
