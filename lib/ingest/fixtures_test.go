package ingest

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
)

// Fixture tests: files written into t.TempDir() for the layouts and quirks
// the shared datasets do not cover.

func readFixture(t *testing.T, root, domain string, src params.Source) (*collector, *Report) {
	t.Helper()
	c := &collector{}
	rep := NewReport()
	if err := ReadDomain(root, domain, src, c.sink(), rep); err != nil {
		t.Fatal(err)
	}
	ns := src.UserNamespace
	if ns == "" {
		ns = domain
	}
	if err := c.checkInvariants(domain, ns); err != nil {
		t.Fatal(err)
	}
	return c, rep
}

func TestMovieLens1MFixture(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"ml-1m/ratings.dat": "1::1193::5::978300760\n" +
			"1::661::3::978302109\n" +
			"2::1193::abc::978300760\n" + // line 3: not a number
			"3::1193::6::978300760\n" + // line 4: out of range
			"::1193::4::978300760\n" + // line 5: empty id
			"4::1193::4\n" + // line 6: 3 fields
			"5::3408::4::978300275\n" +
			"5::661::1::978300275\n" +
			"6::661::2::978300275\n" +
			"6::3408::2::978300275\n" +
			"7::3408::4::978300275\n" +
			"8::3408::4.5::978300275\n" + // line 12: not an integer rating
			"9::3408::4::978300275\n" +
			"9::1193::5::978300276\n",
		// latin-1: "Café" is 0xE9.
		"ml-1m/movies.dat": "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n" +
			"661::James and the Giant Peach (1996)::Animation|Children's|Musical\n" +
			"3408::Caf\xe9 au lait (1993)::Comedy|Drama\n",
		"ml-1m/users.dat": "1::F::1::10::48067\n2::M::56::16::70072\n3::M::26::15::55117\n4::M::25::21::55117\n5::F::25::20::\n6::F::35::0::02460\n7::M::45::7::1234-5678\n",
	})
	c, rep := readFixture(t, root, "ml1m", params.Source{Format: FormatMovieLens1M, Dir: "ml-1m"})
	wantEq(t, "ratings", len(c.inter), 9)
	wantEq(t, "items", len(c.items), 3)
	cafe, _ := c.item("3408")
	wantEq(t, "latin-1 title", cafe.Title, "Café au lait (1993)")
	if !slices.Equal(cafe.Genres, []string{"Comedy", "Drama"}) {
		t.Errorf("genres %q", cafe.Genres)
	}
	peach, _ := c.item("661")
	if !slices.Equal(peach.Genres, []string{"Animation", "Children's", "Musical"}) {
		t.Errorf("genres %q", peach.Genres)
	}
	x := c.inter[0]
	wantEq(t, "first", x.User+" "+x.Item, "ml1m:1 1193")
	wantEq(t, "ts", *x.Timestamp, int64(978300760))
	wantEq(t, "source", x.Source, "ml-1m/ratings.dat")

	r := fileRep(t, rep, "ml1m", "ml-1m/ratings.dat")
	wantEq(t, "rows", r.Rows, 14)
	wantEq(t, "malformed", r.Malformed, 5)
	want := map[string]int64{"Rating: not_a_number": 1, "Rating: out_of_range": 2, "UserID: empty": 1, "field_count": 1}
	if !reflect.DeepEqual(r.MalformedByReason, want) {
		t.Errorf("by reason %v, want %v", r.MalformedByReason, want)
	}
	wantEq(t, "example 0", r.Examples[0], `ml-1m/ratings.dat:3: field "Rating": "abc" is not a number`)
	wantEq(t, "example 3", r.Examples[3], `ml-1m/ratings.dat:6: expected 4 fields, got 3`)
	wantEq(t, "latin-1 noted", fileRep(t, rep, "ml1m", "ml-1m/movies.dat").Notes["lines decoded as latin-1"], 1)

	u := fileRep(t, rep, "ml1m", "ml-1m/users.dat")
	wantEq(t, "valid users", u.Emitted[EmitUser], 4)
	want = map[string]int64{"Age: out_of_range": 1, "Occupation: out_of_range": 1, "Zip-code: empty": 1}
	if !reflect.DeepEqual(u.MalformedByReason, want) {
		t.Errorf("users by reason %v, want %v", u.MalformedByReason, want)
	}
}

func TestMovieLens100KFixture(t *testing.T) {
	flags := func(on ...int) string {
		f := make([]string, 19)
		for i := range f {
			f[i] = "0"
		}
		for _, i := range on {
			f[i] = "1"
		}
		return strings.Join(f, "|")
	}
	genre := "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\nDocumentary|7\nDrama|8\nFantasy|9\n" +
		"Film-Noir|10\nHorror|11\nMusical|12\nMystery|13\nRomance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n"
	files := map[string]string{
		"ml-100k/u.data": "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n244\t51\t2\t880606923\n166\t346\t1\t886397596\n",
		"ml-100k/u.item": "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|" + flags(3, 4, 5) + "\n" +
			"267|unknown||||" + flags(0) + "\n" +
			"1300|\xc1 k\xf6ldum klaka (Cold Fever) (1994)|01-Jan-1994||http://x|" + flags(5, 8) + "\n" +
			"5|Bad flags (1995)|01-Jan-1995||http://x|" + strings.Replace(flags(), "0", "2", 1) + "\n" +
			"6|Short|01-Jan-1995\n" +
			"7|Fine (1995)|01-Jan-1995||http://x|" + flags(18) + "\n" +
			"8|Fine too (1995)|01-Jan-1995||http://x|" + flags(1, 2) + "\n",
		"ml-100k/u.user":  "1|24|M|technician|85711\n2|53|F|other|94043\n3|0|M|writer|32067\n",
		"ml-100k/u.genre": genre,
	}
	root := writeFiles(t, files)
	c, rep := readFixture(t, root, "ml100k", params.Source{Format: FormatMovieLens100K, Dir: "ml-100k"})
	wantEq(t, "ratings", len(c.inter), 5)
	wantEq(t, "items", len(c.items), 5)
	toy, _ := c.item("1")
	if !slices.Equal(toy.Genres, []string{"Animation", "Children's", "Comedy"}) {
		t.Errorf("toy story genres %q", toy.Genres)
	}
	unk, _ := c.item("267")
	if unk.Genres != nil {
		t.Errorf("unknown flag gave genres %q", unk.Genres)
	}
	cold, _ := c.item("1300")
	wantEq(t, "latin-1 title", cold.Title, "Á köldum klaka (Cold Fever) (1994)")
	w, _ := c.item("7")
	wantEq(t, "last flag", strings.Join(w.Genres, ","), "Western")
	items := fileRep(t, rep, "ml100k", "ml-100k/u.item")
	want := map[string]int64{"unknown: not_a_flag": 1, "field_count": 1}
	if !reflect.DeepEqual(items.MalformedByReason, want) {
		t.Errorf("u.item by reason %v, want %v", items.MalformedByReason, want)
	}
	wantEq(t, "genres", fileRep(t, rep, "ml100k", "ml-100k/u.genre").Emitted[EmitLookup], 19)
	wantEq(t, "users", fileRep(t, rep, "ml100k", "ml-100k/u.user").Emitted[EmitUser], 2)
	x := c.inter[0]
	wantEq(t, "first", x.User+" "+x.Item, "ml100k:196 242")
	wantEq(t, "ts", *x.Timestamp, int64(881250949))

	// Without u.genre the built-in names give the same items.
	delete(files, "ml-100k/u.genre")
	c2, _ := readFixture(t, writeFiles(t, files), "ml100k", params.Source{Format: FormatMovieLens100K, Dir: "ml-100k"})
	if !reflect.DeepEqual(stripSource(c.items), stripSource(c2.items)) {
		t.Error("built-in genre names differ from u.genre")
	}

	// A u.genre with another number of genres is another layout.
	files["ml-100k/u.genre"] = strings.Replace(genre, "Western|18\n", "", 1)
	err := ReadDomain(writeFiles(t, files), "ml100k", params.Source{Format: FormatMovieLens100K, Dir: "ml-100k"}, Sink{}, nil)
	if err == nil || !strings.Contains(err.Error(), "ml-100k/u.genre: 18 genres, want 19") {
		t.Errorf("short u.genre: err = %v", err)
	}
}

func stripSource(items []schema.Item) []schema.Item {
	out := slices.Clone(items)
	for i := range out {
		out[i].Source = ""
	}
	return out
}

func TestLastfm1KFixture(t *testing.T) {
	const sak = "a7f7df4a-77d8-4f12-8acd-5c60c93f4de8"
	const dd = "f1b1cf71-bd35-4e99-8624-24a6e15f133a"
	root := writeFiles(t, map[string]string{
		"lastfm-1k/userid-timestamp-artid-artname-traid-traname.tsv": "" +
			"user_000002\t2009-05-05T01:00:00Z\t" + sak + "\tRyuichi Sakamoto\t\tX\n" + // 1
			"user_000001\t2009-05-04T23:08:57Z\t" + dd + "\tDeep Dish\t\tFuck Me Im Famous\n" + // 2
			"user_000001\t2009-05-04T13:54:10Z\t" + sak + "\t坂本龍一\t\tComposition 0919\n" + // 3
			"user_000001\t2009-05-04T13:52:04Z\t" + sak + "\t坂本龍一\t\tMc2\n" + // 4
			"user_000001\t2009-05-04T13:42:52Z\t\tUnknown Band\t\tSong\n" + // 5
			"user_000002\t2009-05-06T01:00:00Z\t" + sak + "\tRyuichi Sakamoto\t\tY\n" + // 6
			"user_000002\tyesterday\t" + sak + "\tRyuichi Sakamoto\t\tY\n" + // 7: bad time
			"user_000002\t2009-05-06T01:00:00Z\t\t\t\tZ\n" + // 8: no artist
			"user_000003\t2009-05-06T01:00:00+02:00\t\tUnknown Band\t\tSong", // 9: offset, no final newline
	})
	c, rep := readFixture(t, root, "lfm", params.Source{Format: FormatLastfm1K, Dir: "lastfm-1k"})
	type got struct {
		user, item string
		n          float64
		ts, line   int64
	}
	var gs []got
	for _, x := range c.inter {
		gs = append(gs, got{x.User, x.Item, x.Value, *x.Timestamp, x.Line})
	}
	ts := func(s string) int64 {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.Unix()
	}
	want := []got{
		{"lfm:user_000001", sak, 2, ts("2009-05-04T13:54:10Z"), 3},
		{"lfm:user_000001", dd, 1, ts("2009-05-04T23:08:57Z"), 2},
		{"lfm:user_000001", "name:Unknown Band", 1, ts("2009-05-04T13:42:52Z"), 5},
		{"lfm:user_000002", sak, 2, ts("2009-05-06T01:00:00Z"), 6},
		{"lfm:user_000003", "name:Unknown Band", 1, ts("2009-05-05T23:00:00Z"), 9},
	}
	if !reflect.DeepEqual(gs, want) {
		t.Errorf("interactions\n got %v\nwant %v", gs, want)
	}
	var titles []string
	for _, it := range c.items {
		titles = append(titles, it.Item+"="+it.Title)
	}
	// Two plays each as "Ryuichi Sakamoto" and "坂本龍一": the tie goes to the smaller name.
	wantTitles := []string{sak + "=Ryuichi Sakamoto", dd + "=Deep Dish", "name:Unknown Band=Unknown Band"}
	if !slices.Equal(titles, wantTitles) {
		t.Errorf("items %q, want %q", titles, wantTitles)
	}
	r := fileRep(t, rep, "lfm", "lastfm-1k/userid-timestamp-artid-artname-traid-traname.tsv")
	wantEq(t, "rows", r.Rows, 9)
	want2 := map[string]int64{"timestamp: not_a_time": 1, "artname: empty": 1}
	if !reflect.DeepEqual(r.MalformedByReason, want2) {
		t.Errorf("by reason %v", r.MalformedByReason)
	}
	wantEq(t, "emitted", r.Emitted[EmitInteraction], 5)
}

func goodbooksFixture() map[string]string {
	return map[string]string{
		"gb/books.csv": "book_id,goodreads_book_id,authors,title,average_rating,ratings_count\n" +
			`1,100,"Ann Author, Bob Writer","A Book, With Comma",4.10,120` + "\n" +
			"2,200,Solo,Plain,3.5,7\n" +
			"3,300,Third,Third Book,,\n",
		"gb/tags.csv": crlf("tag_id,tag_name\n1,alpha\n2,beta\n3,gamma\n4,alpha\n"),
		"gb/book_tags.csv": crlf("goodreads_book_id,tag_id,count\n" +
			"100,1,5\n" + // alpha 5
			"100,2,5\n" + // beta 5 (ties alpha by count once alpha is summed? no: alpha becomes 6)
			"100,3,9\n" + // gamma 9
			"100,4,1\n" + // tag 4 is also named alpha: alpha = 6
			"200,2,3\n200,3,3\n" + // a tie: by name
			"999,1,50\n" + // not in books.csv
			"200,77,1\n"), // tag not in tags.csv
		"gb/ratings.csv": "user_id,book_id,rating\n1,1,5\n1,2,4\n2,3,3\n2,4,2\n",
		"gb/to_read.csv": "user_id,book_id\n1,3\n2,1\n",
	}
}

func TestGoodbooksFixture(t *testing.T) {
	root := writeFiles(t, goodbooksFixture())
	src := params.Source{Format: FormatGoodbooks, Dir: "gb"}
	c, rep := readFixture(t, root, "b", src)
	b1, _ := c.item("1")
	wantEq(t, "title", b1.Title, "A Book, With Comma")
	if !slices.Equal(b1.Creators, []string{"Ann Author", "Bob Writer"}) {
		t.Errorf("creators %q", b1.Creators)
	}
	if !slices.Equal(b1.Genres, []string{"gamma", "alpha", "beta"}) {
		t.Errorf("book 1 genres %q, want gamma (9), alpha (5+1), beta (5)", b1.Genres)
	}
	b2, _ := c.item("2")
	if !slices.Equal(b2.Genres, []string{"beta", "gamma"}) {
		t.Errorf("book 2 genres %q, want the 3-3 tie by name", b2.Genres)
	}
	b3, _ := c.item("3")
	if b3.AvgRating != nil || b3.RatingsCount != nil || b3.Genres != nil {
		t.Errorf("book 3 = %+v, want empty aggregates and no genres", b3)
	}
	wantEq(t, "avg", *b1.AvgRating, 4.10)
	bt := fileRep(t, rep, "b", "gb/book_tags.csv")
	wantEq(t, "unknown book noted", bt.Notes["goodreads_book_id not in books file"], 1)
	wantEq(t, "unknown tag noted", bt.Notes["tag_id not in tags file"], 1)
	wantEq(t, "to_read", len(c.toRead), 2)
	wantEq(t, "to_read pair", c.toRead[1].User+" "+c.toRead[1].Item+" "+c.toRead[1].Source, "b:2 1 gb/to_read.csv")
	wantEq(t, "ratings", len(c.inter), 4)
	wantEq(t, "rating of unknown book noted", fileRep(t, rep, "b", "gb/ratings.csv").Notes["book_id not in books file"], 1)

	// No ToRead callback: to_read.csv is not read.
	rep = NewReport()
	if err := ReadDomain(root, "b", src, Sink{}, rep); err != nil {
		t.Fatal(err)
	}
	if _, ok := rep.Domains["b"].Files["gb/to_read.csv"]; ok {
		t.Error("to_read read without a ToRead callback")
	}

	// Optional files absent by default: skipped.
	files := goodbooksFixture()
	delete(files, "gb/book_tags.csv")
	delete(files, "gb/to_read.csv")
	delete(files, "gb/tags.csv")
	c, _ = readFixture(t, writeFiles(t, files), "b", src)
	wantEq(t, "books without optional files", len(c.items), 3)

	// An optional file named in Files must exist, even to_read with no callback.
	for _, role := range []string{"book_tags", "to_read", "tags"} {
		s := src
		s.Files = map[string]string{role: "gb/nope.csv"}
		err := ReadDomain(root, "b", s, Sink{}, nil)
		if err == nil || !strings.Contains(err.Error(), "nope.csv") || !strings.Contains(err.Error(), role) {
			t.Errorf("%s named but missing: err = %v", role, err)
		}
	}
	// book_tags without tags cannot name genres.
	files = goodbooksFixture()
	delete(files, "gb/tags.csv")
	err := ReadDomain(writeFiles(t, files), "b", src, Sink{}, nil)
	if err == nil || !strings.Contains(err.Error(), "gb/book_tags.csv: needs the tags file") {
		t.Errorf("book_tags without tags: err = %v", err)
	}
	// ratings.csv absent: ratings_random.csv is the fallback.
	files = goodbooksFixture()
	files["gb/ratings_random.csv"] = files["gb/ratings.csv"]
	delete(files, "gb/ratings.csv")
	c, rep = readFixture(t, writeFiles(t, files), "b", src)
	wantEq(t, "fallback ratings", len(c.inter), 4)
	wantEq(t, "fallback file", c.inter[0].Source, "gb/ratings_random.csv")
}

func TestLastfmHetrecFixture(t *testing.T) {
	files := map[string]string{
		"hr/artists.dat":      "id\tname\turl\tpictureURL\n1\tCaf\u00e9 Band\thttp://x\t\n2\tOther\thttp://y\thttp://z\n",
		"hr/tags.dat":         crlf("tagID\ttagValue\n1\trock fran\xe7ais\n2\tpop\n"),
		"hr/user_artists.dat": crlf("userID\tartistID\tweight\n7\t1\t100\n7\t2\t5\n8\t1\t3\n8\t2\t0\n"),
		"hr/user_taggedartists.dat": "userID\tartistID\ttagID\tday\tmonth\tyear\n" +
			"7\t1\t1\t1\t4\t2009\n7\t1\t2\t1\t3\t2009\n8\t2\t2\t31\t6\t2009\n8\t1\t2\t1\t1\t2010\n",
	}
	root := writeFiles(t, files)
	src := params.Source{Format: FormatLastfmHetrec, Dir: "hr"}
	c, rep := readFixture(t, root, "m", src)
	day := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() }
	wantEq(t, "latin-1 tag", c.tags[0].Tag, "rock français")
	wantEq(t, "tags", len(c.tags), 3) // 31 June is malformed
	tr := fileRep(t, rep, "m", "hr/user_taggedartists.dat")
	wantEq(t, "bad date", tr.MalformedByReason["day: invalid_date"], 1)
	ua := fileRep(t, rep, "m", "hr/user_artists.dat")
	wantEq(t, "zero plays", ua.MalformedByReason["weight: out_of_range"], 1)
	wantEq(t, "interactions", len(c.inter), 3)
	wantEq(t, "(7,1) earliest tag", *c.inter[0].Timestamp, day(2009, 3, 1))
	if c.inter[1].Timestamp != nil {
		t.Errorf("(7,2) never tagged, got timestamp %d", *c.inter[1].Timestamp)
	}
	wantEq(t, "(8,1)", *c.inter[2].Timestamp, day(2010, 1, 1))
	a1, _ := c.item("1")
	if !slices.Equal(a1.Genres, []string{"pop", "rock français"}) { // pop 2, rock 1
		t.Errorf("artist 1 genres %q", a1.Genres)
	}
	wantEq(t, "artist title", a1.Title, "Café Band")

	// With the timestamps file, it replaces the dated one.
	files["hr/user_taggedartists-timestamps.dat"] = "userID\tartistID\ttagID\ttimestamp\n7\t1\t1\t1238536800000\n7\t2\t2\t1238536800999\n"
	c, rep = readFixture(t, writeFiles(t, files), "m", src)
	wantEq(t, "tags from timestamps file", len(c.tags), 2)
	wantEq(t, "ms to s", *c.tags[1].Timestamp, int64(1238536800))
	wantEq(t, "(7,2) now dated", *c.inter[1].Timestamp, int64(1238536800))
	if _, ok := rep.Domains["m"].Files["hr/user_taggedartists.dat"]; ok {
		t.Error("dated file read alongside the timestamps file")
	}
}

// The same MovieLens data as LF, CRLF, with a BOM, without a final newline:
// the same rows.
func TestLineEndingsBOMFinalNewline(t *testing.T) {
	ratings := "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,1,0.5,964982224\n"
	movies := "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,\"Grumpier Old Men, The (1995)\",(no genres listed)\n"
	variants := map[string]func(string) string{
		"lf":         func(s string) string { return s },
		"crlf":       crlf,
		"bom":        func(s string) string { return "\ufeff" + s },
		"bom-crlf":   func(s string) string { return "\ufeff" + crlf(s) },
		"no-final":   func(s string) string { return strings.TrimSuffix(s, "\n") },
		"crlf-final": func(s string) string { return strings.TrimSuffix(crlf(s), "\n") },
	}
	var ref *collector
	for name, v := range variants {
		root := writeFiles(t, map[string]string{"ml/ratings.csv": v(ratings), "ml/movies.csv": v(movies)})
		c, rep := readFixture(t, root, "mv", params.Source{Format: FormatMovieLensCSV, Dir: "ml"})
		if rep.CheckMalformed(0) != nil || len(c.inter) != 3 || len(c.items) != 2 {
			t.Fatalf("%s: %d ratings, %d items, %v", name, len(c.inter), len(c.items), rep.CheckMalformed(0))
		}
		if ref == nil {
			ref = c
			continue
		}
		for i := range c.inter {
			a, b := c.inter[i], ref.inter[i]
			if a.User != b.User || a.Item != b.Item || a.Value != b.Value || *a.Timestamp != *b.Timestamp || a.Line != b.Line {
				t.Errorf("%s: row %d = %+v, want %+v", name, i, a, b)
			}
		}
		if !reflect.DeepEqual(c.items, ref.items) {
			t.Errorf("%s: items %+v, want %+v", name, c.items, ref.items)
		}
	}
	wantEq(t, "quoted title", ref.items[1].Title, "Grumpier Old Men, The (1995)")
	if ref.items[1].Genres != nil {
		t.Errorf("(no genres listed) gave %q", ref.items[1].Genres)
	}
	wantEq(t, "half star", ref.inter[2].Value, 0.5)
}

func TestMultiLineAndUnterminatedQuotes(t *testing.T) {
	movies := "movieId,title,genres\n" +
		"1,\"Two\nLines (1999)\",Drama\n" + // lines 2-3
		"2,Normal (2000),Comedy\n" + // line 4
		"3,\"Never closed (2001),Drama\n" + // line 5: unterminated
		"4,After (2002),Drama\n" + // line 6: still read
		"5,Also after (2003),Drama\n" +
		"6,Last (2004),Drama\n"
	root := writeFiles(t, map[string]string{"ml/movies.csv": movies, "ml/ratings.csv": "userId,movieId,rating,timestamp\n"})
	c, rep := readFixture(t, root, "mv", params.Source{Format: FormatMovieLensCSV, Dir: "ml"})
	var got []string
	for _, it := range c.items {
		got = append(got, it.Item+":"+it.Title)
	}
	want := []string{"1:Two\nLines (1999)", "2:Normal (2000)", "4:After (2002)", "5:Also after (2003)", "6:Last (2004)"}
	if !slices.Equal(got, want) {
		t.Errorf("items %q, want %q", got, want)
	}
	r := fileRep(t, rep, "mv", "ml/movies.csv")
	wantEq(t, "unterminated", r.MalformedByReason["unterminated_quote"], 1)
	wantEq(t, "example", r.Examples[0], "ml/movies.csv:5: quoted field never closes")
}

func TestMalformedRowsAndReport(t *testing.T) {
	rows := []string{"userId,movieId,rating,timestamp"}
	for i := range 20 {
		rows = append(rows, "1,"+string(rune('1'+i%9))+",3.5,964982703")
	}
	rows = append(rows, "1,2,abc,964982703", "1,2,5.5,964982703", "1,2,4.2,964982703", ",2,4,964982703",
		"1,,4,964982703", "1,2,4", "1,x2,4,1", "1,2,4,-5", "1,2,NaN,1", "1,2,Inf,1", "1,2,0x1p1,1", "1,2,4,1.5")
	root := writeFiles(t, map[string]string{
		"ml/ratings.csv": strings.Join(rows, "\n") + "\n",
		"ml/movies.csv":  "movieId,title,genres\n",
	})
	c, rep := readFixture(t, root, "mv", params.Source{Format: FormatMovieLensCSV, Dir: "ml"})
	wantEq(t, "kept", len(c.inter), 20)
	r := fileRep(t, rep, "mv", "ml/ratings.csv")
	wantEq(t, "rows", r.Rows, 32)
	wantEq(t, "malformed", r.Malformed, 12)
	want := map[string]int64{
		"rating: not_a_number":    4, // abc, NaN, Inf, hex float
		"rating: out_of_range":    2, // 5.5, 4.2
		"userId: empty":           1,
		"movieId: empty":          1,
		"movieId: not_an_id":      1,
		"field_count":             1,
		"timestamp: out_of_range": 1,
		"timestamp: not_a_number": 1,
	}
	if !reflect.DeepEqual(r.MalformedByReason, want) {
		t.Errorf("by reason %v\nwant %v", r.MalformedByReason, want)
	}
	wantEq(t, "examples kept", len(r.Examples), maxExamples)
	wantEq(t, "example", r.Examples[1], `ml/ratings.csv:23: field "rating": "5.5" is out of range (want 0.5 to 5 in steps of 0.5)`)
	wantEq(t, "unknown movies noted", r.Notes["movieId not in movies file"], 20)

	if err := rep.CheckMalformed(0.5); err != nil {
		t.Errorf("12/32 under 0.5: %v", err)
	}
	err := rep.CheckMalformed(0.1)
	if err == nil || !strings.Contains(err.Error(), "ml/ratings.csv (domain mv): 12 of 32 rows malformed") ||
		!strings.Contains(err.Error(), `ml/ratings.csv:22: field "rating": "abc" is not a number`) {
		t.Errorf("CheckMalformed(0.1) = %v", err)
	}
}

func TestStructuralErrors(t *testing.T) {
	ml := func(ratings string) string {
		return writeFiles(t, map[string]string{"ml/ratings.csv": ratings, "ml/movies.csv": "movieId,title,genres\n1,A,Drama\n"})
	}
	src := params.Source{Format: FormatMovieLensCSV, Dir: "ml"}
	cases := []struct {
		name, root, want string
		src              params.Source
	}{
		{"bad values on most rows", ml("userId,movieId,rating,timestamp\n1,1,abc,5\n1,2,abc,5\n1,3,4,5\n"), "",
			src},
		{"header", ml("userId,movieId,score,timestamp\n1,1,4,5\n"),
			`ml/ratings.csv:1: field "header": column "rating" missing (header is "userId,movieId,score,timestamp")`, src},
		{"empty file", ml(""), `ml/ratings.csv:1: field "header": empty file, want a header`, src},
		{"missing file", writeFiles(t, map[string]string{"ml/movies.csv": "movieId,title,genres\n"}),
			"domain mv: ratings file: none of ratings.csv in ", src},
		{"csv given as douban", writeFiles(t, map[string]string{"d/ratings.dat": "1,2,3\n4,5,6\n"}),
			`d/ratings.dat:1: expected 3 fields, got 1 (2 of the first 2 rows are malformed: is the file in the ratings layout?)`,
			params.Source{Format: FormatDouban, Dir: "d"}},
		{"unknown role", ml("userId,movieId,rating,timestamp\n"), `domain mv: files: unknown role "rating" for format movielens-csv`,
			params.Source{Format: FormatMovieLensCSV, Dir: "ml", Files: map[string]string{"rating": "x"}}},
		{"unknown format", ml(""), `domain mv: ingest: unknown format "movielens"`, params.Source{Format: "movielens", Dir: "ml"}},
	}
	cases[0].want = `ml/ratings.csv:2: field "rating": "abc" is not a number (2 of the first 3 rows are malformed: is the file in the ratings layout?)`
	for _, tc := range cases {
		err := ReadDomain(tc.root, "mv", tc.src, Sink{}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v\nwant it to contain %s", tc.name, err, tc.want)
		}
	}
	// A long file fails as soon as most of the first 100 rows are bad, before reading on.
	rows := []string{"userId,movieId,rating,timestamp"}
	for range 1000 {
		rows = append(rows, "1\t1\t4\t5")
	}
	var pe *ParseError
	err := ReadDomain(ml(strings.Join(rows, "\n")), "mv", src, Sink{}, nil)
	if !errors.As(err, &pe) || pe.Line != 2 || pe.File != "ml/ratings.csv" ||
		!strings.Contains(pe.Msg, "51 of the first 51 rows") {
		t.Errorf("tab-separated ratings.csv: err = %v", err)
	}
}

func TestSinkErrorAborts(t *testing.T) {
	root := writeFiles(t, map[string]string{"d/ratings.dat": "1\t2\t3\n1\t3\t4\n1\t4\t5\n"})
	stop := errors.New("disk full")
	n := 0
	err := ReadDomain(root, "d", params.Source{Format: FormatDouban, Dir: "d"}, Sink{
		Interaction: func(x schema.Interaction) error {
			if n++; n == 2 {
				return stop
			}
			return nil
		},
	}, nil)
	if !errors.Is(err, stop) || err.Error() != "d/ratings.dat:2: disk full" || n != 2 {
		t.Errorf("err = %v after %d rows", err, n)
	}
}

func TestAbsolutePathsAndRelativeSource(t *testing.T) {
	root := writeFiles(t, map[string]string{"d/ratings.dat": "1\t2\t3\n"})
	other := writeFiles(t, map[string]string{"elsewhere.dat": "5\t6\t4\n"})
	c, _ := readFixture(t, root, "d", params.Source{Format: FormatDouban, Dir: filepath.Join(root, "d")})
	wantEq(t, "source under root", c.inter[0].Source, "d/ratings.dat")
	abs := filepath.Join(other, "elsewhere.dat")
	c, _ = readFixture(t, root, "d", params.Source{Format: FormatDouban, Dir: "d", Files: map[string]string{"ratings": abs}})
	wantEq(t, "source outside root", c.inter[0].Source, filepath.ToSlash(abs))
	wantEq(t, "user", c.inter[0].User, "d:5")
}

func TestRolesAndFormats(t *testing.T) {
	if got := Formats(); len(got) != 8 || !slices.IsSorted(got) {
		t.Errorf("Formats() = %q", got)
	}
	r, err := Roles(FormatGoodbooks)
	if err != nil || len(r) != 5 || r[0].Role != "ratings" || !r[4].Optional {
		t.Errorf("Roles(goodbooks) = %+v, %v", r, err)
	}
	if _, err := Roles("nope"); err == nil {
		t.Error("Roles(nope) succeeded")
	}
	// Every format's roles exist for ReadDomain to dispatch: an empty dir fails on files, not on the format.
	for _, f := range Formats() {
		err := ReadDomain(t.TempDir(), "x", params.Source{Format: f, Dir: "."}, Sink{}, nil)
		if err == nil || strings.Contains(err.Error(), "unknown format") {
			t.Errorf("%s on an empty folder: %v", f, err)
		}
	}
}

// Many unterminated quotes: each costs a bounded look-ahead, and every other
// line is still read.
func TestManyUnterminatedQuotes(t *testing.T) {
	var b strings.Builder
	b.WriteString("movieId,title,genres\n")
	for i := range 20000 {
		if i%4 == 3 {
			b.WriteString(strconv.Itoa(i) + ",\"Never closed,Drama\n")
		} else {
			b.WriteString(strconv.Itoa(i) + ",Fine,Drama\n")
		}
	}
	root := writeFiles(t, map[string]string{"ml/movies.csv": b.String(), "ml/ratings.csv": "userId,movieId,rating,timestamp\n"})
	start := time.Now()
	c, rep := readFixture(t, root, "mv", params.Source{Format: FormatMovieLensCSV, Dir: "ml"})
	wantEq(t, "items", len(c.items), 15000)
	wantEq(t, "unterminated", fileRep(t, rep, "mv", "ml/movies.csv").MalformedByReason["unterminated_quote"], 5000)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}
