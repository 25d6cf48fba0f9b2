package clean

import (
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
)

func ts(v int64) *int64 { return &v }

func writeFixture(t *testing.T, dir string, xs []schema.Interaction, items []schema.Item, tags []schema.Tag) Paths {
	t.Helper()
	p := Paths{
		InInteractions: filepath.Join(dir, "in", "interactions.parquet"), InItems: filepath.Join(dir, "in", "items.parquet"), InTags: filepath.Join(dir, "in", "tags.parquet"),
		OutInteractions: filepath.Join(dir, "out", "interactions.parquet"), OutItems: filepath.Join(dir, "out", "items.parquet"), OutTags: filepath.Join(dir, "out", "tags.parquet"),
	}
	l := artifact.Lineage{Stage: "ingest"}
	write := func(path string, f func(string) error) {
		if err := f(path); err != nil {
			t.Fatal(err)
		}
	}
	write(p.InInteractions, func(path string) error { return writeAll(path, xs, l) })
	write(p.InItems, func(path string) error { return writeAll(path, items, l) })
	write(p.InTags, func(path string) error { return writeAll(path, tags, l) })
	return p
}

func writeAll[T any](path string, rows []T, l artifact.Lineage) error {
	w, err := artifact.Create[T](path, l)
	if err != nil {
		return err
	}
	if err := w.Write(rows); err != nil {
		return err
	}
	_, err = w.Close()
	return err
}

func rating(user, item string, v float64, t *int64) schema.Interaction {
	return schema.Interaction{Domain: "movies", User: user, Item: item, Value: v, Kind: schema.KindRating, Timestamp: t}
}

func TestCleanInteractionsCountsByReason(t *testing.T) {
	xs := []schema.Interaction{
		rating("u1", "a", 4, ts(1_000_000_000)),
		rating("u1", "a", 2, ts(1_100_000_000)), // later duplicate: wins under "latest"
		rating("u1", "a", 3, ts(900_000_000)),   // older duplicate
		rating("u1", " b ", 5, ts(10)),          // whitespace, implausible 1970 time
		rating("", "c", 5, nil),                 // missing user
		rating("u2", "c", math.NaN(), nil),      // NaN
		rating("u2", "d", 0, nil),               // "no rating"
		rating("u2", "e", 3, nil),
		rating("u2", "e", 1, nil), // duplicate without times: later row wins
		{Domain: "music", User: "m1", Item: "x", Value: 0, Kind: schema.KindPlaycount},
		{Domain: "music", User: "m1", Item: "y", Value: 7, Kind: "clicks"},
		{Domain: "music", User: "m1", Item: "z", Value: 7, Kind: schema.KindPlaycount},
	}
	items := []schema.Item{
		{Domain: "movies", Item: "a", Title: "  The   Film ", Genres: []string{"Drama", "drama", " Comedy", ""}, Creators: []string{"Ann", "ann", "Bob"}},
		{Domain: "movies", Item: "a", Title: "dup"},
		{Domain: "movies", Item: "b", Title: "Cafe\u0301"},
	}
	tags := []schema.Tag{
		{Domain: "movies", User: "u1", Item: "a", Tag: "Funny"},
		{Domain: "movies", User: "u1", Item: "a", Tag: "funny "},
		{Domain: "movies", User: "u1", Item: "a", Tag: "  "},
	}
	dir := t.TempDir()
	p := writeFixture(t, dir, xs, items, tags)
	rep, err := Run(p, params.Clean{Duplicates: "latest"}, artifact.Lineage{Stage: "clean"})
	if err != nil {
		t.Fatal(err)
	}
	mv := rep.Domains["movies"].Interactions
	wantDropped := map[string]int64{DropDuplicate: 3, DropMissingID: 1, DropNonFinite: 1, DropZeroRating: 1}
	if !reflect.DeepEqual(mv.Dropped, wantDropped) {
		t.Errorf("movies dropped %v, want %v", mv.Dropped, wantDropped)
	}
	if mv.In != 9 || mv.Out != 3 {
		t.Errorf("movies in/out %d/%d, want 9/3", mv.In, mv.Out)
	}
	mu := rep.Domains["music"].Interactions
	if mu.Dropped[DropZeroPlaycount] != 1 || mu.Dropped[DropUnknownKind] != 1 || mu.Out != 1 {
		t.Errorf("music report %+v", mu)
	}
	got, _, err := artifact.ReadAll[schema.Interaction](p.OutInteractions)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: u1/a value 2 (latest), u1/b with time removed, u2/e value 1, m1/z.
	if len(got) != 4 || got[0].Value != 2 || got[1].Item != "b" || got[1].Timestamp != nil || got[2].Value != 1 || got[3].Item != "z" {
		t.Fatalf("kept rows %+v", got)
	}
	if mv.Fixed[FixImplausibleTime] != 1 || mv.Fixed[FixWhitespace] < 1 {
		t.Errorf("fixes %v", mv.Fixed)
	}
	its, _, _ := artifact.ReadAll[schema.Item](p.OutItems)
	if len(its) != 2 || its[0].Title != "The Film" || !reflect.DeepEqual(its[0].Genres, []string{"drama", "comedy"}) || !reflect.DeepEqual(its[0].Creators, []string{"Ann", "Bob"}) || its[1].Title != "Café" {
		t.Fatalf("items %+v", its)
	}
	if mi := rep.Domains["movies"].Items; mi.Dropped[DropDuplicateItem] != 1 || mi.Out != 2 || mi.Fixed[FixDupGenre] != 1 || mi.Fixed[FixDupCreator] != 1 || mi.Fixed[FixUnicodeNFC] != 1 {
		t.Errorf("item counts %+v", mi)
	}
	if mt := rep.Domains["movies"].Tags; mt.Dropped[DropDuplicate] != 1 || mt.Dropped[DropMissingID] != 1 || mt.Out != 1 {
		t.Errorf("tag counts %+v", mt)
	}
	tg, _, _ := artifact.ReadAll[schema.Tag](p.OutTags)
	if len(tg) != 1 || tg[0].Tag != "funny" {
		t.Fatalf("tags %+v", tg)
	}
}

func TestDuplicateRules(t *testing.T) {
	play := func(v float64) schema.Interaction {
		return schema.Interaction{Domain: "music", User: "u", Item: "i", Value: v, Kind: schema.KindPlaycount}
	}
	for _, tc := range []struct {
		rule string
		want float64
	}{{"first", 5}, {"latest", 7}, {"sum", 12}} {
		dir := t.TempDir()
		p := writeFixture(t, dir, []schema.Interaction{play(5), play(7)}, nil, nil)
		if _, err := Run(p, params.Clean{Duplicates: tc.rule}, artifact.Lineage{Stage: "clean"}); err != nil {
			t.Fatal(err)
		}
		got, _, _ := artifact.ReadAll[schema.Interaction](p.OutInteractions)
		if len(got) != 1 || got[0].Value != tc.want {
			t.Errorf("rule %s kept %+v, want one row of %g", tc.rule, got, tc.want)
		}
	}
}

func TestMinActivityFilters(t *testing.T) {
	xs := []schema.Interaction{rating("u1", "a", 4, nil), rating("u1", "b", 4, nil), rating("u2", "a", 4, nil)}
	p := writeFixture(t, t.TempDir(), xs, nil, nil)
	rep, err := Run(p, params.Clean{Duplicates: "first", MinUserInteractions: 2, MinItemInteractions: 2}, artifact.Lineage{Stage: "clean"})
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Domains["movies"].Interactions
	// u2 has one rating; of u1's, item b has one.
	if d.Dropped[DropUserBelowMin] != 1 || d.Dropped[DropItemBelowMin] != 1 || d.Out != 1 {
		t.Fatalf("report %+v", d)
	}
}
