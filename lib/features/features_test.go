package features

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
)

func TestVocabOrderAndIndices(t *testing.T) {
	v := buildVocab("m", "genre", map[string]int64{"drama": 5, "comedy": 5, "noir": 1, "war": 2}, 2)
	// Most frequent first, ties by name; "noir" is below the minimum.
	want := []string{"<pad>", "<other>", "comedy", "drama", "war"}
	var got []string
	for _, r := range v.rows {
		got = append(got, r.Value)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("vocab %v, want %v", got, want)
	}
	if idx := v.indices([]string{"war", "noir"}, 3); !reflect.DeepEqual(idx, []int32{4, OtherIndex, PadIndex}) {
		t.Fatalf("indices %v", idx)
	}
	if mh := MultiHot([]int32{2, 4, OtherIndex}, 2); !reflect.DeepEqual(mh, []float32{1, 0}) {
		t.Fatalf("multi-hot %v", mh)
	}
}

func TestUnifiedLengthsAcrossDomains(t *testing.T) {
	dir := t.TempDir()
	l := artifact.Lineage{Stage: "test"}
	rc := int64(100)
	items := []schema.Item{
		{Domain: "books", Item: "1", Genres: []string{"fantasy", "classics", "horror", "poetry"}, Creators: []string{"A", "B"}, RatingsCount: &rc},
		{Domain: "music", Item: "9", Genres: []string{"rock"}, Creators: []string{"Band"}},
	}
	z := 0.3
	norm := []schema.NormItem{{Domain: "books", Item: "1", PopularityZ: 1, RatingsCountZ: &z}, {Domain: "books", Item: "2"}, {Domain: "music", Item: "9"}}
	xs := []schema.NormInteraction{{Interaction: schema.Interaction{Domain: "music", User: "u2"}}, {Interaction: schema.Interaction{Domain: "books", User: "u1"}}, {Interaction: schema.Interaction{Domain: "music", User: "u1"}}}
	p := Paths{InItems: filepath.Join(dir, "i.parquet"), InNormItems: filepath.Join(dir, "n.parquet"), InInteractions: filepath.Join(dir, "x.parquet"),
		OutItems: filepath.Join(dir, "o/items.parquet"), OutVocab: filepath.Join(dir, "o/vocab.parquet"), OutUsers: filepath.Join(dir, "o/users.parquet"), Meta: filepath.Join(dir, "o/meta.json")}
	for _, err := range []error{writeAll(p.InItems, items, l), writeAll(p.InNormItems, norm, l), writeAll(p.InInteractions, xs, l)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := params.Features{MaxGenres: 3, MaxCreators: 2, MultiHotGenres: 4, MinGenreItems: 1, MinCreatorItems: 1}
	meta, err := Run(p, []string{"books", "music"}, cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	if meta.FeatureLen != 1+3+2+4+5 || meta.Domains["books"].Items != 2 || meta.Domains["music"].Users != 2 || meta.Domains["books"].Users != 1 {
		t.Fatalf("meta %+v books %+v music %+v", meta, meta.Domains["books"], meta.Domains["music"])
	}
	feats, _, err := artifact.ReadAll[schema.ItemFeatures](p.OutItems)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range feats {
		if len(f.GenreIdx) != 3 || len(f.CreatorIdx) != 2 || len(f.GenreMultiHot) != 4 || len(f.Numeric) != 5 {
			t.Fatalf("item %s/%s has lengths %d %d %d %d", f.Domain, f.Item, len(f.GenreIdx), len(f.CreatorIdx), len(f.GenreMultiHot), len(f.Numeric))
		}
	}
	b1 := feats[0]
	if b1.Index != 0 || feats[1].Index != 1 || feats[2].Index != 0 || feats[2].DomainIndex != 1 {
		t.Fatalf("dense indices %+v", feats)
	}
	// Four genres, three slots: the first three kept, in published order.
	if b1.GenreIdx[0] < 2 || b1.GenreIdx[2] < 2 || b1.Numeric[1] != 0.3 || b1.Numeric[2] != 1 || b1.Numeric[4] != 0 {
		t.Fatalf("book features %+v", b1)
	}
	// Item 2 has no metadata: all padding, flags off.
	if !reflect.DeepEqual(feats[1].GenreIdx, []int32{0, 0, 0}) || feats[1].Numeric[2] != 0 {
		t.Fatalf("item without metadata %+v", feats[1])
	}
}
