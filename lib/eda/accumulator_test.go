package eda

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
)

func rating(domain, user, item string, v float64) *schema.Interaction {
	return &schema.Interaction{Domain: domain, User: user, Item: item, Value: v, Kind: schema.KindRating, Source: "t.csv", Line: 1}
}

func plays(domain, user, item string, v float64) *schema.Interaction {
	x := rating(domain, user, item, v)
	x.Kind = schema.KindPlaycount
	return x
}

func mustNew(t *testing.T, o Options) *Accumulator {
	t.Helper()
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func feed(t *testing.T, a *Accumulator, xs ...*schema.Interaction) {
	t.Helper()
	for _, x := range xs {
		if err := a.AddInteraction(x); err != nil {
			t.Fatal(err)
		}
	}
}

func result(t *testing.T, a *Accumulator) *Stats {
	t.Helper()
	s, err := a.Result()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRatingDomain(t *testing.T) {
	a := mustNew(t, Options{})
	for _, it := range []struct {
		id        string
		genres    []string
		universal []string
	}{
		{"a", []string{"Drama", "Comedy", "Drama"}, []string{"comedy", "drama"}},
		{"b", []string{"Drama"}, []string{"drama"}},
		{"c", nil, nil},
		{"d", []string{"IMAX"}, nil}, // never rated
	} {
		if err := a.AddItem(&schema.Item{Domain: "ml", Item: it.id, Genres: it.genres}, it.universal); err != nil {
			t.Fatal(err)
		}
	}
	feed(t, a,
		rating("ml", "u1", "a", 4), rating("ml", "u1", "b", 5),
		rating("ml", "u2", "a", 3),
		rating("ml", "u3", "c", 1), rating("ml", "u3", "x", 2), // x is not in the catalogue
	)
	s := result(t, a)
	d := s.Domains[0]
	// 3 users, 4 rated items (a, b, c, x), 5 interactions: 1 - 5/12.
	if d.Users != 3 || d.Items != 4 || d.Interactions != 5 || !near(float64(d.Sparsity), 7.0/12) {
		t.Errorf("counts %d %d %d sparsity %v", d.Users, d.Items, d.Interactions, d.Sparsity)
	}
	if d.Catalogue != 4 || d.CatalogueUnrated != 1 || d.OffCatalogue != 1 {
		t.Errorf("catalogue %d unrated %d off %d", d.Catalogue, d.CatalogueUnrated, d.OffCatalogue)
	}
	r := d.Ratings
	// values 1,2,3,4,5: mean 3, median 3, population variance 2, sample 2.5.
	if r == nil || r.N != 5 || r.Mean != 3 || r.Median != 3 || r.VariancePopulation != 2 || r.VarianceSample != 2.5 || r.Min != 1 || r.Max != 5 {
		t.Errorf("ratings %+v", r)
	}
	if len(r.Histogram) != 5 || r.Histogram[0] != (ValueCount{1, 1}) {
		t.Errorf("histogram %v", r.Histogram)
	}
	if d.Playcounts != nil {
		t.Error("rating domain has play-count stats")
	}
	// Source genres: Drama on a, b (2 items; 2+1 interactions), Comedy on a, IMAX on d.
	wantItems := []GenreCount{{"Drama", 2, 3}, {"Comedy", 1, 2}, {"IMAX", 1, 0}}
	if g := d.SourceGenres; g.Distinct != 3 || g.ItemsWithGenre != 3 || !slices.Equal(g.ByItems, wantItems) {
		t.Errorf("source genres %+v", g)
	}
	if g := d.SourceGenres.ByInteractions; !slices.Equal(g, wantItems) {
		t.Errorf("source genres by interactions %+v", g)
	}
	wantUni := []GenreCount{{"drama", 2, 3}, {"comedy", 1, 2}}
	if g := d.UniversalGenres; g.ItemsWithGenre != 2 || !slices.Equal(g.ByItems, wantUni) {
		t.Errorf("universal genres %+v", g)
	}
	// Activity: u1 2, u2 1, u3 2. Popularity: a 2, b 1, c 1, x 1.
	if u := d.UserActivity; u.N != 3 || u.Total != 5 || u.Min != 1 || u.Max != 2 {
		t.Errorf("activity %+v", u)
	}
	if p := d.ItemPopularity; p.N != 4 || p.Total != 5 || p.TopCount != 1 || p.TopInteractionShare != 0.4 || p.CoverCount != 3 {
		t.Errorf("popularity %+v", p)
	}
}

func TestTopGenresCut(t *testing.T) {
	a := mustNew(t, Options{TopGenres: 2})
	for i, g := range []string{"c", "b", "a"} {
		if err := a.AddItem(&schema.Item{Domain: "d", Item: string(rune('0' + i)), Genres: []string{g}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	g := result(t, a).Domains[0].SourceGenres
	if len(g.ByItems) != 2 || g.ByItems[0].Genre != "a" || g.ByItems[1].Genre != "b" || g.Distinct != 3 {
		t.Errorf("top 2 of tied genres %+v, want a, b by name", g)
	}
}

func TestPlaycountDomain(t *testing.T) {
	a := mustNew(t, Options{})
	feed(t, a, plays("fm", "u1", "a", 1), plays("fm", "u1", "b", 3), plays("fm", "u2", "a", 100), plays("fm", "u3", "c", 0))
	d := result(t, a).Domains[0]
	p := d.Playcounts
	if d.Ratings != nil || p == nil {
		t.Fatalf("kinds: ratings %v playcounts %v", d.Ratings, p)
	}
	// values 0, 1, 3, 100: mean 26, median 2, p10 = 0.3 (h = 0.3), p99 = 97.09 (h = 2.97).
	if p.N != 4 || p.Distinct != 4 || p.Min != 0 || p.Max != 100 || p.Mean != 26 || p.Median != 2 {
		t.Errorf("playcounts %+v", p)
	}
	if !near(float64(p.Quantiles[0].Value), 0.3) || !near(float64(p.Quantiles[5].Value), 97.09) {
		t.Errorf("quantiles %v", p.Quantiles)
	}
	if len(p.LogBins) != 8 || p.LogBins[0] != (Bin{0, 1, 1}) || p.LogBins[7] != (Bin{64, 128, 1}) {
		t.Errorf("log bins %v", p.LogBins)
	}
}

func TestAddErrors(t *testing.T) {
	a := mustNew(t, Options{})
	feed(t, a, rating("d", "u", "i", 4))
	for _, c := range []struct {
		x    *schema.Interaction
		want string
	}{
		{plays("d", "u", "i", 4), `t.csv:1: eda: domain d: kind "playcount" after "rating"`},
		{rating("d", "u", "i", math.NaN()), "not a finite number"},
		{plays("e", "u", "i", -1), "negative play count"},
		{&schema.Interaction{Domain: "d", User: "u", Item: "i", Kind: "stars", Source: "s.csv", Line: 9}, `s.csv:9: eda: unknown kind "stars"`},
		{rating("d", "", "i", 4), "empty domain, user or item"},
	} {
		if err := a.AddInteraction(c.x); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddInteraction(%+v) = %v, want %q", c.x, err, c.want)
		}
	}
	it := &schema.Item{Domain: "d", Item: "i", Source: "items.csv"}
	if err := a.AddItem(it, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.AddItem(it, nil); err == nil || !strings.Contains(err.Error(), "added twice") {
		t.Errorf("duplicate item: %v", err)
	}
	for _, o := range []Options{{TopShare: 1.5}, {CoverShare: -1}, {TopGenres: -1}, {Pairs: []Pair{{"a", "a"}}}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	b := mustNew(t, Options{Pairs: []Pair{{"d", "nope"}}})
	feed(t, b, rating("d", "u", "i", 4))
	if _, err := b.Result(); err == nil || !strings.Contains(err.Error(), "domain nope has no interactions") {
		t.Errorf("pair with a missing domain: %v", err)
	}
}

func TestPairCorrelation(t *testing.T) {
	a := mustNew(t, Options{Pairs: []Pair{{"book", "music"}}})
	feed(t, a,
		rating("book", "x", "1", 4), rating("book", "y", "1", 2), rating("book", "z", "1", 3), rating("book", "w", "1", 5),
		rating("music", "x", "1", 5), rating("music", "y", "1", 1), rating("music", "z", "1", 4),
	)
	s := result(t, a)
	p := s.Pairs[0]
	if p.UsersA != 4 || p.UsersB != 3 || p.Overlap != 3 {
		t.Errorf("users %d %d overlap %d", p.UsersA, p.UsersB, p.Overlap)
	}
	// means book x,y,z = 4,2,3 and music 5,1,4: dx = [1,-1,0], dy = [5,-7,2]/3,
	// r = 4 / sqrt(2 * 78/9); ranks are equal, so rho = 1.
	want := 4 / math.Sqrt(2*78.0/9)
	if m := p.MeanRating; m == nil || m.N != 3 || !near(float64(m.Pearson), want) || !near(float64(m.Spearman), 1) {
		t.Errorf("mean rating %+v, want r %v rho 1", m, want)
	}
	// Deviation is a per-domain shift: same r and rho. Book mean 3.5, so
	// the shared users deviate by (0.5 - 1.5 - 0.5)/3 = -0.5; music by 0.
	if d := p.Deviation; d == nil || !near(float64(d.Pearson), want) || !near(float64(d.Spearman), 1) || !near(float64(d.MeanA), -0.5) || !near(float64(d.MeanB), 0) {
		t.Errorf("deviation %+v", d)
	}
	// Each user has one rating per domain: activity is constant, undefined.
	b, err := json.Marshal(p.Activity)
	if err != nil || string(b) != `{"n":3,"pearson":null,"spearman":null}` {
		t.Errorf("activity json %s %v", b, err)
	}
}

func TestPairWithPlaycounts(t *testing.T) {
	a := mustNew(t, Options{Pairs: []Pair{{"fm", "ml"}}})
	feed(t, a, plays("fm", "u", "1", 3), plays("fm", "v", "1", 3), plays("fm", "v", "2", 3),
		rating("ml", "u", "1", 3), rating("ml", "v", "1", 3), rating("ml", "v", "2", 3), rating("ml", "v", "3", 3))
	p := result(t, a).Pairs[0]
	if p.MeanRating != nil || p.Deviation != nil || p.Activity.N != 2 || !near(float64(p.Activity.Pearson), 1) {
		t.Errorf("mixed pair %+v", p)
	}
}

// TestDeterministic feeds the same data in different orders (users reversed,
// a seeded shuffle) and wants the same JSON bytes.
func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var xs []*schema.Interaction
	users := []string{"douban:1", "douban:2", "douban:3", "douban:4", "douban:5", "douban:6"}
	for ui, u := range users {
		for i := range 3 + ui {
			v := float64(1+rng.IntN(10)) / 2
			xs = append(xs, rating("book", u, string(rune('a'+i)), v))
			if ui%2 == 0 || i < 2 {
				xs = append(xs, rating("music", u, string(rune('a'+(i+ui)%7)), float64(1+rng.IntN(5))))
			}
		}
	}
	var items []*schema.Item
	for i := range 8 {
		items = append(items, &schema.Item{Domain: "book", Item: string(rune('a' + i)), Genres: []string{"g" + string(rune('0'+i%3)), "all"}})
	}
	run := func(xs []*schema.Interaction, items []*schema.Item) []byte {
		a := mustNew(t, Options{Pairs: []Pair{{"book", "music"}}})
		for _, it := range items {
			if err := a.AddItem(it, []string{"u" + it.Genres[0]}); err != nil {
				t.Fatal(err)
			}
		}
		feed(t, a, xs...)
		b, err := json.Marshal(result(t, a))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := run(xs, items)
	rev := slices.Clone(xs)
	slices.Reverse(rev)
	revItems := slices.Clone(items)
	slices.Reverse(revItems)
	shuf := slices.Clone(xs)
	rng.Shuffle(len(shuf), func(i, j int) { shuf[i], shuf[j] = shuf[j], shuf[i] })
	for name, got := range map[string][]byte{"reversed": run(rev, revItems), "shuffled": run(shuf, items)} {
		if !bytes.Equal(got, want) {
			t.Errorf("%s input gives different JSON:\n%s\nwant\n%s", name, got, want)
		}
	}
	if bytes.Contains(want, []byte("NaN")) {
		t.Errorf("NaN in JSON: %s", want)
	}
}
