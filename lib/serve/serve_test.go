package serve

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/synth"
)

func TestRecommendFromRawRatings(t *testing.T) {
	items := synth.Items(1, 40, 30)
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.Config{Arch: models.NCF, ItemDim: 4, UserDim: 3, Hidden: [2]int{5, 4}, Encoder: true,
		InnerSteps: 2, InnerLR: 0.1, Shape: cat.Shape()}
	b, err := backends.NewWithConfig("go:parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.NewModel("t", b, cfg, cfg.Init(1), items)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scalers.parquet")
	w, err := artifact.Create[schema.Scaler](path, artifact.Lineage{Stage: "normalize"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]schema.Scaler{{Domain: "dom0", Feature: "rating", Method: "minmax", Min: 1, Max: 5}})
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := New(m, items, path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.Recommend("dom0", []Rating{{Item: "d0i3", Value: 5}, {Item: "d0i7", Value: 1}}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || recs[0].Rank != 1 {
		t.Fatalf("got %v", recs)
	}
	for _, r := range recs {
		if r.Item == "d0i3" || r.Item == "d0i7" {
			t.Fatalf("rated item %s recommended", r.Item)
		}
		// predicted is the score mapped back to stars: 1 + 4*score.
		if d := r.Predicted - (1 + 4*float64(r.Score)); d > 1e-5 || d < -1e-5 {
			t.Fatalf("predicted %g for score %g", r.Predicted, r.Score)
		}
	}
	for _, bad := range []struct {
		domain string
		rs     []Rating
		want   string
	}{
		{"nosuch", nil, "unknown domain"},
		{"dom1", nil, "no rating or playcount scaler"},
		{"dom0", []Rating{{Item: "zzz", Value: 3}}, "no item"},
		{"dom0", []Rating{{Item: "d0i1", Value: 3}, {Item: "d0i1", Value: 4}}, "twice"},
	} {
		if _, err := s.Recommend(bad.domain, bad.rs, 3); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("%s %v: got %v, want an error with %q", bad.domain, bad.rs, err, bad.want)
		}
	}
}
