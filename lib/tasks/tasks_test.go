package tasks

import (
	"cmp"
	"path/filepath"
	"slices"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/split"
)

func writeAll[T any](t *testing.T, path string, rows []T) {
	t.Helper()
	w, err := artifact.Create[T](path, artifact.Lineage{Stage: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBuildCutsSupportAndQuery(t *testing.T) {
	cfg := params.Split{SupportK: 2, CurveKs: []int{1, 3}, MinQuery: 2, MaxQuery: 3}
	mk := func(group string, n int) []schema.SplitInteraction {
		rows := make([]schema.SplitInteraction, n)
		for i := range rows {
			rows[i] = schema.SplitInteraction{Domain: "d", User: "u", Group: group, ItemIndex: int32(i), Rank: int32(i)}
		}
		return rows
	}
	tr, ok := Build(mk(split.Train, 10), cfg)
	if !ok || len(tr.Support) != 2 || len(tr.Query) != 3 || tr.Query[0].ItemIndex != 2 {
		t.Fatalf("train task %+v", tr)
	}
	te, ok := Build(mk(split.Test, 10), cfg)
	// Held-out: support holds max K = 3, query starts at rank 3.
	if !ok || len(te.Support) != 3 || te.Query[0].ItemIndex != 3 {
		t.Fatalf("test task %+v", te)
	}
	if _, ok := Build(mk(split.Test, 4), cfg); ok {
		t.Fatal("a held-out user with 4 interactions cannot have K=3 support and 2 query items")
	}
	if _, ok := Build(mk(split.Train, 4), cfg); !ok {
		t.Fatal("a training user with 4 interactions makes a K=2 task with 2 query items")
	}
}

func TestRunWritesGroupsApartAndRoundTrips(t *testing.T) {
	dir := t.TempDir()
	assign := split.Assigner{Seed: 7, Train: 0.5, Valid: 0.2}
	var rows []schema.SplitInteraction
	for u := 0; u < 60; u++ {
		user := "ns:" + string(rune('A'+u%26)) + string(rune('a'+u/26))
		g := assign.Group(user)
		for _, d := range []string{"a", "b"} {
			for r := 0; r < 12; r++ {
				item := int32(r)
				if r == 11 && g == split.Train {
					item = 12 // item 11 is seen only by held-out users: cold
				}
				rows = append(rows, schema.SplitInteraction{Domain: d, User: user, Group: g, ItemIndex: item, Rank: int32(r), Norm: float64(r) / 12, Value: float64(r)})
			}
		}
	}
	// The split artifact is sorted by domain then user.
	sortSplit(rows)
	var feats []schema.ItemFeatures
	var aligned []schema.AlignedItem
	for di, d := range []string{"a", "b"} {
		for i := 0; i < 13; i++ {
			id := string(rune('a' + i))
			feats = append(feats, schema.ItemFeatures{Domain: d, Item: id, DomainIndex: int32(di), Index: int32(i), GenreIdx: []int32{1, 0}, CreatorIdx: []int32{0}, GenreMultiHot: []float32{0, 1, 0}, Numeric: []float32{1, 2, 3, 4, 5}})
			aligned = append(aligned, schema.AlignedItem{Domain: d, Item: id, Index: int32(i), Universal: []float32{1, 0, 0, float32(i)}})
		}
	}
	p := Paths{InSplit: filepath.Join(dir, "split.parquet"), InFeatures: filepath.Join(dir, "f.parquet"), InAligned: filepath.Join(dir, "a.parquet"), OutDir: filepath.Join(dir, "tasks"), Summary: filepath.Join(dir, "summary.json")}
	writeAll(t, p.InSplit, rows)
	writeAll(t, p.InFeatures, feats)
	writeAll(t, p.InAligned, aligned)
	cfg := params.Split{Seed: 7, Train: 0.5, Valid: 0.2, Test: 0.3, SupportK: 3, CurveKs: []int{1, 5}, MinQuery: 2}
	sum, err := Run(p, []string{"a", "b"}, cfg, params.Tasks{SourceHistory: 4, WarmHoldout: 0.25, CrossDomain: []params.CrossPair{{Source: "a", Target: "b"}}}, artifact.Lineage{Stage: "tasks"})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, g := range Groups[:3] {
		eps, _, err := LoadEpisodes(filepath.Join(p.OutDir, g+".arrow"))
		if err != nil {
			t.Fatal(err)
		}
		total += len(eps)
		for _, e := range eps {
			// No user of another group in this group's file.
			if e.Group != g || assign.Group(e.User) != g {
				t.Fatalf("%s.arrow holds user %s of group %s", g, e.User, assign.Group(e.User))
			}
			seen := map[int32]bool{}
			for _, s := range e.Support {
				seen[s.Item] = true
			}
			for _, q := range e.Query {
				if seen[q.Item] {
					t.Fatalf("user %s: item %d in support and query", e.User, q.Item)
				}
			}
			// Training users: 3 of 12 interactions held out for warm.arrow,
			// support 3, query the other 6. Held-out users: support max K = 5.
			wantK, wantQ := 3, 6
			if g != split.Train {
				wantK, wantQ = 5, 7
			}
			if len(e.Support) != wantK || len(e.Query) != wantQ || e.Query[0].Raw != float32(wantK) {
				t.Fatalf("%s episode %+v", g, e)
			}
			if last := e.Query[len(e.Query)-1]; g != split.Train && !last.Cold {
				t.Fatalf("%s: item %d never in train.arrow is not flagged cold", g, last.Item)
			}
		}
		cross, _, err := LoadEpisodes(filepath.Join(p.OutDir, "cross_a_to_b_"+g+".arrow"))
		if err != nil {
			t.Fatal(err)
		}
		if len(cross) != len(eps)/2 || sum.Cross["a_to_b"][g] != len(cross) {
			t.Fatalf("%s: %d cross tasks for %d tasks", g, len(cross), len(eps))
		}
		for _, c := range cross {
			if c.Domain != "b" || c.SourceDomainIndex != 0 || len(c.Source) != 4 {
				t.Fatalf("cross task %+v", c)
			}
		}
	}
	if total != 120 {
		t.Fatalf("%d tasks, want one per user and domain (120)", total)
	}
	warm, _, err := LoadEpisodes(filepath.Join(p.OutDir, Warm+".arrow"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warm {
		// The warm query is the training user's last 3 interactions; its
		// support is what train.arrow holds for the user.
		if assign.Group(w.User) != split.Train || len(w.Support) != 9 || len(w.Query) != 3 || w.Query[0].Raw != 9 {
			t.Fatalf("warm episode %+v", w)
		}
		// Items seen only in warm holdouts are unknown to the model.
		if !w.Query[2].Cold {
			t.Fatalf("warm query item %d (only in holdouts) not cold", w.Query[2].Item)
		}
	}
	if len(warm) != sum.Tasks["a"][Warm]+sum.Tasks["b"][Warm] || len(warm) == 0 {
		t.Fatalf("%d warm episodes, summary %v", len(warm), sum.Tasks)
	}
	items, _, err := LoadItems(filepath.Join(p.OutDir, "items.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	if len(items.Domains) != 2 || len(items.Domains[1].IDs) != 13 || items.Universal != 4 || items.Domains[1].Universal[4*7+3] != 7 || items.Numeric != 5 {
		t.Fatalf("items table %+v", items)
	}
}

// sortSplit orders rows as the split artifact is: by domain, then user.
func sortSplit(rows []schema.SplitInteraction) {
	slices.SortStableFunc(rows, func(a, b schema.SplitInteraction) int {
		if c := cmp.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return cmp.Compare(a.User, b.User)
	})
}
