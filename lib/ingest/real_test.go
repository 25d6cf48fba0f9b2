package ingest

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/testutil"
)

// Tests on the real shared datasets: counts as each SOURCE.md states them,
// and spot checks of parsed values.

func readReal(t *testing.T, domain string, src params.Source) (*collector, *Report) {
	t.Helper()
	c := &collector{}
	rep := NewReport()
	if err := ReadDomain(testutil.DataRoot(t), domain, src, c.sink(), rep); err != nil {
		t.Fatal(err)
	}
	ns := src.UserNamespace
	if ns == "" {
		ns = domain
	}
	if err := c.checkInvariants(domain, ns); err != nil {
		t.Fatal(err)
	}
	if err := rep.CheckMalformed(0); err != nil {
		t.Fatalf("published files should have no malformed rows: %v", err)
	}
	return c, rep
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func fileRep(t *testing.T, rep *Report, domain, rel string) *FileReport {
	t.Helper()
	f, ok := rep.Domains[domain].Files[rel]
	if !ok {
		t.Fatalf("report has no %s/%s; has %v", domain, rel, sortedKeys(rep.Domains[domain].Files))
	}
	return f
}

func TestRealMovieLensLatestSmall(t *testing.T) {
	c, rep := readReal(t, "movies", params.Source{Format: FormatMovieLensCSV, Dir: "movielens-latest-small", Kind: "movies"})
	wantEq(t, "ratings", len(c.inter), 100836)
	wantEq(t, "users", len(c.users()), 610)
	wantEq(t, "rated movies", len(c.ratedItems()), 9724)
	wantEq(t, "movies", len(c.items), 9742)
	wantEq(t, "tags", len(c.tags), 3683)
	r := fileRep(t, rep, "movies", "movielens-latest-small/ratings.csv")
	wantEq(t, "report rows", r.Rows, 100836)
	wantEq(t, "report emitted", r.Emitted[EmitInteraction], 100836)

	// First rating: "1,1,4.0,964982703" on line 2 (CRLF file).
	x := c.inter[0]
	wantEq(t, "user", x.User, "movies:1")
	wantEq(t, "item", x.Item, "1")
	wantEq(t, "value", x.Value, 4.0)
	wantEq(t, "kind", x.Kind, schema.KindRating)
	wantEq(t, "timestamp", *x.Timestamp, int64(964982703))
	wantEq(t, "source", x.Source, "movielens-latest-small/ratings.csv")
	wantEq(t, "line", x.Line, int64(2))
	last := c.inter[len(c.inter)-1]
	wantEq(t, "last line", last.Line, int64(100837))
	halves := 0
	for _, x := range c.inter {
		if x.Value != float64(int(x.Value)) {
			halves++
		}
	}
	if halves == 0 {
		t.Error("no half-star ratings parsed")
	}

	// A quoted title with a comma.
	m, ok := c.item("11")
	if !ok {
		t.Fatal("movie 11 missing")
	}
	wantEq(t, "title", m.Title, "American President, The (1995)")
	if !slices.Equal(m.Genres, []string{"Comedy", "Drama", "Romance"}) {
		t.Errorf("genres = %q", m.Genres)
	}
	noGenre := 0
	for _, it := range c.items {
		if it.Genres == nil {
			noGenre++
		}
		if slices.Contains(it.Genres, noGenres) {
			t.Fatalf("%q kept as a genre: %+v", noGenres, it)
		}
	}
	wantEq(t, "movies without genres", noGenre, 34)

	// tags.csv line 3007 is 567,4552,"""artsy""",1525285878: quotes doubled inside a quoted field.
	var artsy schema.Tag
	for _, tg := range c.tags {
		if tg.Line == 3007 {
			artsy = tg
		}
	}
	wantEq(t, "escaped tag", artsy.Tag, `"artsy"`)
	wantEq(t, "tag user", artsy.User, "movies:567")
	wantEq(t, "tag time", *artsy.Timestamp, int64(1525285878))
}

func TestRealGoodbooks(t *testing.T) {
	src := params.Source{Format: FormatGoodbooks, Dir: "goodbooks-10k", Kind: "books",
		Files: map[string]string{"ratings": "goodbooks-10k-ratings/ratings_random.csv"}}
	c, rep := readReal(t, "books", src)
	wantEq(t, "books", len(c.items), 10000)
	wantEq(t, "ratings", len(c.inter), 298176)
	wantEq(t, "users", len(c.users()), 2672)
	wantEq(t, "rated books", len(c.ratedItems()), 9990)
	wantEq(t, "tags", fileRep(t, rep, "books", "goodbooks-10k/tags.csv").Emitted[EmitLookup], 34252)
	// book_tags.csv and to_read.csv are not in goodbooks-10k/: skipped, not an error.
	if len(c.toRead) != 0 || len(rep.Domains["books"].Files) != 3 {
		t.Errorf("optional absent files read: %v", sortedKeys(rep.Domains["books"].Files))
	}
	hp, _ := c.item("2")
	wantEq(t, "title", hp.Title, "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)")
	if !slices.Equal(hp.Creators, []string{"J.K. Rowling", "Mary GrandPré"}) {
		t.Errorf("creators = %q", hp.Creators)
	}
	wantEq(t, "avg", *hp.AvgRating, 4.44)
	wantEq(t, "count", *hp.RatingsCount, int64(4602479))
	x := c.inter[0] // 58,26,1
	wantEq(t, "first rating", x.User+" "+x.Item, "books:58 26")
	wantEq(t, "first value", x.Value, 1.0)
	if x.Timestamp != nil {
		t.Error("goodbooks ratings have no timestamps")
	}

	// The publisher's samples: book_tags and to_read as named files.
	src.Files = map[string]string{
		"ratings":   "goodbooks-10k/samples/ratings.csv",
		"book_tags": "goodbooks-10k/samples/book_tags.csv",
		"to_read":   "goodbooks-10k/samples/to_read.csv",
	}
	c, rep = readReal(t, "books", src)
	wantEq(t, "sample ratings", len(c.inter), 99)
	wantEq(t, "sample to_read", len(c.toRead), 99)
	wantEq(t, "to_read first", c.toRead[0].User+" "+c.toRead[0].Item, "books:9 8")
	// Every sample book_tags row is goodreads_book_id 1, which is book_id 27.
	hbp, _ := c.item("27")
	wantEq(t, "genres", len(hbp.Genres), 99)
	wantEq(t, "top genre", hbp.Genres[0], "to-read") // tag 30574, count 167697
	wantEq(t, "genres 2-4", strings.Join(hbp.Genres[1:4], ","), "fantasy,favorites,currently-reading")
	wantEq(t, "book_tags rows", fileRep(t, rep, "books", "goodbooks-10k/samples/book_tags.csv").Rows, 99)
}

func TestRealGoodreadsKaggle(t *testing.T) {
	c, rep := readReal(t, "gr", params.Source{Format: FormatGoodreads, Dir: "goodreads-books", Kind: "books"})
	wantEq(t, "books", len(c.items), 11127)
	f := fileRep(t, rep, "gr", "goodreads-books/books.csv")
	wantEq(t, "recovered", f.Recovered, 4)
	wantEq(t, "malformed", f.Malformed, 0)
	wantEq(t, "invalid dates noted", f.Notes["publication_date: invalid date"], 2)
	want := map[string][]string{
		"12224": {"Sam Bass Warner, Jr.", "Sam B. Warner"},
		"16914": {"David E. Smith (Turgon of TheOneRing.net, one of the founding members of this Tolkien website)", "Verlyn Flieger", "Turgon (=David E. Smith)"},
		"22128": {"James Wesley, Rawles"},
		"34889": {"Brown, Son & Ferguson"},
	}
	for id, authors := range want {
		it, ok := c.item(id)
		if !ok {
			t.Fatalf("recovered book %s missing", id)
		}
		if !slices.Equal(it.Creators, authors) {
			t.Errorf("book %s authors = %q, want %q", id, it.Creators, authors)
		}
	}
	it, _ := c.item("22128")
	wantEq(t, "recovered title", it.Title, "Patriots (The Coming Collapse)")
	wantEq(t, "recovered avg", *it.AvgRating, 3.63)
	wantEq(t, "recovered count", *it.RatingsCount, int64(38))
	hp, _ := c.item("1")
	if !slices.Equal(hp.Creators, []string{"J.K. Rowling", "Mary GrandPré"}) {
		t.Errorf("creators = %q", hp.Creators)
	}
	q, _ := c.item("40146") // quotes are literal in this file
	wantEq(t, "quoted title", q.Title, `"Dear Genius...": A Memoir of My Life with Truman Capote`)
}

func TestRealLastfmHetrec(t *testing.T) {
	c, rep := readReal(t, "music", params.Source{Format: FormatLastfmHetrec, Dir: "lastfm-hetrec2011-2k", Kind: "music"})
	wantEq(t, "play counts", len(c.inter), 92834)
	wantEq(t, "users", len(c.users()), 1892)
	wantEq(t, "artists played", len(c.ratedItems()), 17632)
	wantEq(t, "artists", len(c.items), 17632)
	wantEq(t, "tag assignments", len(c.tags), 186479)
	tags := fileRep(t, rep, "music", "lastfm-hetrec2011-2k/tags.dat")
	wantEq(t, "tags", tags.Emitted[EmitLookup], 11946)
	wantEq(t, "latin-1 lines", tags.Notes["lines decoded as latin-1"], 8)

	x := c.inter[0] // 2 \t 51 \t 13883
	wantEq(t, "first", x.User+" "+x.Item, "music:2 51")
	wantEq(t, "plays", x.Value, 13883.0)
	wantEq(t, "kind", x.Kind, schema.KindPlaycount)

	// First assignment: 2 52 13 1 4 2009, i.e. 2009-04-01 UTC.
	tg := c.tags[0]
	wantEq(t, "tag time", *tg.Timestamp, time.Date(2009, 4, 1, 0, 0, 0, 0, time.UTC).Unix())
	wantEq(t, "tag line", tg.Line, int64(2))
	// tags.dat is latin-1: tag 7982 is "fußball".
	found := false
	for _, tg := range c.tags {
		if strings.Contains(tg.Tag, "fußball") || tg.Tag == "rock français" {
			found = true
		}
		if strings.ContainsRune(tg.Tag, '\uFFFD') {
			t.Fatalf("undecoded tag %q", tg.Tag)
		}
	}
	if !found {
		t.Error("no latin-1 tag decoded (fußball, rock français)")
	}

	// Timestamps: the earliest tagging of (user, artist), recomputed from the tags.
	first := map[[2]string]int64{}
	for _, tg := range c.tags {
		k := [2]string{tg.User, tg.Item}
		if v, ok := first[k]; !ok || *tg.Timestamp < v {
			first[k] = *tg.Timestamp
		}
	}
	dated := 0
	for _, x := range c.inter {
		v, ok := first[[2]string{x.User, x.Item}]
		switch {
		case ok != (x.Timestamp != nil):
			t.Fatalf("timestamp presence wrong: %+v", x)
		case ok && *x.Timestamp != v:
			t.Fatalf("timestamp %d, want earliest tag %d: %+v", *x.Timestamp, v, x)
		case ok:
			dated++
		}
	}
	wantEq(t, "dated play counts", dated, 20665)

	// Genres: tag names by assignment count desc, ties by name, recomputed.
	counts := map[string]map[string]int{}
	for _, tg := range c.tags {
		if counts[tg.Item] == nil {
			counts[tg.Item] = map[string]int{}
		}
		counts[tg.Item][tg.Tag]++
	}
	for _, it := range c.items {
		var want []string
		for name := range counts[it.Item] {
			want = append(want, name)
		}
		slices.SortFunc(want, func(a, b string) int {
			return cmp.Or(cmp.Compare(counts[it.Item][b], counts[it.Item][a]), strings.Compare(a, b))
		})
		if !slices.Equal(it.Genres, want) {
			t.Fatalf("artist %s genres %q, want %q", it.Item, it.Genres, want)
		}
	}
	malice, _ := c.item("1")
	wantEq(t, "artist", malice.Title, "MALICE MIZER")
	if !slices.Equal(malice.Creators, []string{"MALICE MIZER"}) || len(malice.Genres) == 0 {
		t.Errorf("artist 1 = %+v", malice)
	}
}

func TestRealDouban(t *testing.T) {
	book, _ := readReal(t, "douban_book", params.Source{Format: FormatDouban, Dir: "douban-cross-domain/douban_book", Kind: "books", UserNamespace: "douban"})
	music, rep := readReal(t, "douban_music", params.Source{Format: FormatDouban, Dir: "douban-cross-domain/douban_music", Kind: "music", UserNamespace: "douban"})
	wantEq(t, "book ratings", len(book.inter), 96041)
	wantEq(t, "book users", len(book.users()), 2110)
	wantEq(t, "music ratings", len(music.inter), 69709)
	wantEq(t, "music users", len(music.users()), 1672)
	both := 0
	bu := book.users()
	for u := range music.users() {
		if bu[u] {
			both++
		}
	}
	wantEq(t, "users in both", both, 1566)
	// The last line has no newline and must still be read.
	last := music.inter[len(music.inter)-1]
	wantEq(t, "last line", last.Line, int64(69709))
	wantEq(t, "rows", fileRep(t, rep, "douban_music", "douban-cross-domain/douban_music/ratings.dat").Rows, 69709)
	wantEq(t, "first", book.inter[0].User+" "+book.inter[0].Item, "douban:1 1630")

	// Without a shared namespace the two domains share no one.
	alone, _ := readReal(t, "douban_music", params.Source{Format: FormatDouban, Dir: "douban-cross-domain/douban_music", Kind: "music"})
	for u := range alone.users() {
		if bu[u] {
			t.Fatalf("user %s shared without a shared namespace", u)
		}
	}
}

func TestRealReportJSONDeterministic(t *testing.T) {
	run := func() []byte {
		rep := NewReport()
		root := testutil.DataRoot(t)
		for _, d := range []struct {
			name string
			src  params.Source
		}{
			{"music", params.Source{Format: FormatLastfmHetrec, Dir: "lastfm-hetrec2011-2k"}},
			{"gr", params.Source{Format: FormatGoodreads, Dir: "goodreads-books"}},
		} {
			if err := ReadDomain(root, d.name, d.src, Sink{}, rep); err != nil {
				t.Fatal(err)
			}
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := run(), run()
	if string(a) != string(b) {
		t.Fatalf("report JSON differs between runs:\n%s\n%s", a, b)
	}
	for _, want := range []string{`"recovered":4`, `"lines decoded as latin-1":8`, `"tag":186479`} {
		if !strings.Contains(string(a), want) {
			t.Errorf("report lacks %s: %s", want, a)
		}
	}
}
