package ingest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crossrec/crossrec/lib/schema"
)

// Fuzz tests. `go test` runs the seed corpus of each as an ordinary test;
// `go test -run=^$ -fuzz=FuzzX -fuzztime=20s ./lib/ingest` explores. The
// property everywhere: no panic, an error is a *ParseError naming the file,
// the report adds up, and every emitted row satisfies the invariants of
// checkInvariants (non-empty ids, namespaced users, finite values, ratings
// on their scale).

// checkRead asserts the common properties of one per-file read.
func checkRead(t *testing.T, c *collector, rep *FileReport, err error) {
	t.Helper()
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.File != "f" || !strings.HasPrefix(err.Error(), "f:") && !strings.HasPrefix(err.Error(), "f: ") {
			t.Fatalf("error is not a ParseError on f: %T %v", err, err)
		}
		return
	}
	if err := c.checkInvariants("d", "ns"); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, n := range rep.MalformedByReason {
		sum += n
	}
	if sum != rep.Malformed || rep.Malformed > rep.Rows || rep.Recovered > rep.Rows {
		t.Fatalf("report does not add up: %+v", rep)
	}
	if int64(len(rep.Examples)) != min(rep.Malformed, maxExamples) {
		t.Fatalf("%d examples for %d malformed rows", len(rep.Examples), rep.Malformed)
	}
}

func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"4.5", "0.5", "5", "5.", ".5", "-0", "1e3", "1.5e-3", "0x1p1", "NaN", "Inf", "+4", "",
		".", "-", "1_0", "00000000000000004.5", "123456789012345678", "1e400", "9007199254740993"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseFloat([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		plain := strings.Trim(s, "0123456789.eE+-") == "" && !strings.ContainsAny(s, "_xXpP")
		switch {
		case ok && (err != nil || got != want || math.Signbit(got) != math.Signbit(want)):
			t.Fatalf("parseFloat(%q) = %v, strconv gives %v, %v", s, got, want, err)
		case !ok && err == nil && plain && !math.IsInf(want, 0):
			t.Fatalf("parseFloat(%q) refused what strconv reads as %v", s, want)
		}
	})
}

func FuzzLineReader(f *testing.F) {
	for _, s := range []string{"a\nb\n", "a\r\nb", "\ufeffh\r\nx\r\n", "caf\xe9\n\xff\xfe\r\n", "\n\n", "x\r", "", "\r\n\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		segs := bytes.Split(data, []byte("\n"))
		if len(segs[len(segs)-1]) == 0 {
			segs = segs[:len(segs)-1]
		}
		lr := newLineReader(bytes.NewReader(data))
		for i, want := range segs {
			line, no, err := lr.next()
			if err != nil || no != int64(i+1) {
				t.Fatalf("line %d: %q, %d, %v", i+1, line, no, err)
			}
			want = bytes.TrimSuffix(want, []byte("\r"))
			if i == 0 {
				want = bytes.TrimPrefix(want, utf8BOM)
			}
			if !utf8.Valid(want) {
				want = appendLatin1(nil, want)
			}
			if !bytes.Equal(line, want) || !utf8.Valid(line) {
				t.Fatalf("line %d = %q, want %q", i+1, line, want)
			}
		}
		if line, _, err := lr.next(); err == nil {
			t.Fatalf("extra line %q", line)
		}
	})
}

func FuzzSplitCSV(f *testing.F) {
	for _, s := range []string{`a,b,c`, `1,"x, y",z`, `"a""b",c`, `"",`, `a"b,c`, `"open`, `"a"b,c`, `,,`, `"x"`} {
		f.Add(s)
	}
	f.Add("a,\"b\nc\",d")
	f.Add("\"x\n\"\"\n\"y,\"\n")
	f.Fuzz(func(t *testing.T, line string) {
		got, _, open := splitCSV(nil, nil, []byte(line))
		// Growing a record line by line with csvOpen, as csvReader does, agrees
		// with splitting the joined lines whole.
		segs := strings.Split(line, "\n")
		k, inc := 0, csvOpen([]byte(segs[0]), false)
		for inc && k+1 < len(segs) {
			k++
			inc = csvOpen([]byte(segs[k]), true)
		}
		prefix := strings.Join(segs[:k+1], "\n")
		if _, _, whole := splitCSV(nil, nil, []byte(prefix)); inc != whole {
			t.Fatalf("%q: csvOpen says open=%v, splitCSV %v", prefix, inc, whole)
		}
		if line == "" || strings.ContainsAny(line, "\r\n") {
			return
		}
		// Where strict encoding/csv reads the line as one record, splitCSV must agree.
		r := csv.NewReader(strings.NewReader(line))
		r.FieldsPerRecord = -1
		want, err := r.Read()
		if err != nil {
			return
		}
		if open {
			t.Fatalf("%q: open quote, encoding/csv read %q", line, want)
		}
		gs := make([]string, len(got))
		for i, g := range got {
			gs[i] = string(g)
		}
		if !slices.Equal(gs, want) {
			t.Fatalf("splitCSV(%q) = %q, encoding/csv %q", line, gs, want)
		}
	})
}

// fuzzRatings checks a ratings reader on data, and that the fast path and
// the general path give the same rows and the same report.
func fuzzRatings(t *testing.T, format string, mode splitMode, data []byte, read func(*domainCtx, *fileCtx, Sink) error) {
	run := func(noFast bool) (*collector, *FileReport, error) {
		return readOneWith(format, mode, data, noFast, func(d *domainCtx, f *fileCtx, c *collector) error { return read(d, f, c.sink()) })
	}
	c, rep, err := run(false)
	checkRead(t, c, rep, err)
	if err == nil && rep.Rows != rep.Emitted[EmitInteraction]+rep.Malformed {
		t.Fatalf("rows %d != emitted %d + malformed %d", rep.Rows, rep.Emitted[EmitInteraction], rep.Malformed)
	}
	c2, rep2, err2 := run(true)
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
		t.Fatalf("fast path error %v, general path %v", err, err2)
	}
	if len(c.inter) != len(c2.inter) {
		t.Fatalf("fast path %d rows, general path %d", len(c.inter), len(c2.inter))
	}
	for i := range c.inter {
		a, b := c.inter[i], c2.inter[i]
		if (a.Timestamp == nil) != (b.Timestamp == nil) || a.Timestamp != nil && *a.Timestamp != *b.Timestamp {
			t.Fatalf("row %d timestamps differ: %+v vs %+v", i, a, b)
		}
		a.Timestamp, b.Timestamp = nil, nil
		if a != b {
			t.Fatalf("row %d: fast %+v, general %+v", i, a, b)
		}
	}
	rep.firstBad, rep2.firstBad = nil, nil
	if err == nil && !reflect.DeepEqual(rep, rep2) {
		t.Fatalf("reports differ:\nfast    %+v\ngeneral %+v", rep, rep2)
	}
}

func FuzzMovieLensRatings(f *testing.F) {
	h := "userId,movieId,rating,timestamp\r\n"
	for _, s := range []string{
		h + "1,1,4.0,964982703\r\n1,3,4.5,964981247\r\n",
		h + "1,1,4.0,964982703\n2,\"3\",0.5,1\n3,4,abc,5\n",
		"\ufeff" + h + "1,1,5,0",
		h + "01,007,5.0,12\n1,2,5.5,1\n,2,3,4\n1,2,3\n1,2,3,4,5\n",
		h + "1,2,\"4.0\nmore\",1\n1,2,3,4\n",
		"userId,rating,movieId,timestamp\n1,4.0,1,964982703\n",
		h + "1,2,3,-4\n1,2,3,99999999999999999999\n1,2,1e0,1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRatings(t, FormatMovieLensCSV, modeCSV, data, (*domainCtx).readMLRatingsCSV)
	})
}

func FuzzDoubanRatings(f *testing.F) {
	for _, s := range []string{"1\t1630\t4\n1\t1181\t4\n2\t5\t5", "1\t2\t0\n1\t2\t6\n\t2\t3\n", "1,2,3\n", "1\t2\t3\r\n\r\n4\t5\t1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRatings(t, FormatDouban, modeTab, data, (*domainCtx).readDoubanRatings)
	})
}

func FuzzMovieLens1MRatings(f *testing.F) {
	for _, s := range []string{"1::1193::5::978300760\n1::661::3::978302109\n", "1::2::3\n1:2:3:4\n", "1::2::4.5::1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRatings(t, FormatMovieLens1M, modeColons, data, (*domainCtx).readML1MRatings)
	})
}

func FuzzGoodbooksRatings(f *testing.F) {
	for _, s := range []string{"user_id,book_id,rating\n1,258,5\n2,4081,4\n", "user_id,book_id,rating\n1,2\n1,2,3.5\n", "book_id,user_id,rating\n1,2,3\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRatings(t, FormatGoodbooks, modeCSV, data, (*domainCtx).readGBRatings)
	})
}

func FuzzMovieLensMoviesTags(f *testing.F) {
	for _, s := range []string{
		"movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n11,\"American President, The (1995)\",Comedy\n",
		"movieId,title,genres\n2,x,(no genres listed)\n3,\"open,Drama\n4,y,|\n",
	} {
		f.Add([]byte(s), false)
	}
	for _, s := range []string{
		"userId,movieId,tag,timestamp\n2,60756,funny,1445714994\n567,4552,\"\"\"artsy\"\"\",1525285878\n",
		"userId,movieId,tag,timestamp\n2,60756, ,1\n2,x,t,1\n",
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, tags bool) {
		c, rep, err := readOne(FormatMovieLensCSV, modeCSV, data, func(d *domainCtx, f *fileCtx, c *collector) error {
			if tags {
				return d.readMLTagsCSV(f, c.sink())
			}
			return d.readMLMoviesCSV(f, c.sink())
		})
		checkRead(t, c, rep, err)
		if err == nil && rep.Rows != int64(len(c.items)+len(c.tags))+rep.Malformed {
			t.Fatalf("rows %d, %d items + %d tags + %d malformed", rep.Rows, len(c.items), len(c.tags), rep.Malformed)
		}
		for _, it := range c.items {
			if slices.Contains(it.Genres, noGenres) {
				t.Fatalf("%q as a genre", noGenres)
			}
		}
	})
}

func FuzzMovieLens1MMoviesUsers(f *testing.F) {
	f.Add([]byte("1193::One Flew (1975)::Drama\n3408::Caf\xe9 (1993)::Comedy|Drama\n"), false)
	f.Add([]byte("1::F::1::10::48067\n2::M::56::16::70072\n3::X::1::1::1\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, users bool) {
		c, rep, err := readOne(FormatMovieLens1M, modeColons, data, func(d *domainCtx, f *fileCtx, c *collector) error {
			if users {
				return d.readML1MUsers(f)
			}
			return d.readML1MMovies(f, c.sink())
		})
		checkRead(t, c, rep, err)
		for _, it := range c.items {
			if !utf8.ValidString(it.Title) {
				t.Fatalf("title not UTF-8: %q", it.Title)
			}
		}
	})
}

func FuzzMovieLens100K(f *testing.F) {
	flags := "|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0"
	f.Add([]byte("1|Toy Story (1995)|01-Jan-1995||http://x"+flags+"\n1300|\xc1 k\xf6ldum|||"+flags+"\n"), 0)
	f.Add([]byte("196\t242\t3\t881250949\n186\t302\t3\t891717742\n"), 1)
	f.Add([]byte("1|24|M|technician|85711\n2|53|F|other|94043\n"), 2)
	f.Add([]byte("unknown|0\nAction|1\n\n"), 3)
	f.Fuzz(func(t *testing.T, data []byte, which int) {
		switch which % 4 {
		case 1:
			fuzzRatings(t, FormatMovieLens100K, modeTab, data, (*domainCtx).readML100KRatings)
			return
		case 3:
			_, rep, err := readOne(FormatMovieLens100K, modePipe, data, func(d *domainCtx, f *fileCtx, c *collector) error {
				names, err := readML100KGenres(f)
				if err == nil && len(names) != len(ml100kGenres) {
					t.Fatalf("%d genre names accepted", len(names))
				}
				return err
			})
			checkRead(t, &collector{}, rep, err)
			return
		}
		c, rep, err := readOne(FormatMovieLens100K, modePipe, data, func(d *domainCtx, f *fileCtx, c *collector) error {
			if which%4 == 2 {
				return d.readML100KUsers(f)
			}
			return d.readML100KItems(f, ml100kGenres, c.sink())
		})
		checkRead(t, c, rep, err)
		for _, it := range c.items {
			if slices.Contains(it.Genres, "unknown") || len(it.Genres) > 18 {
				t.Fatalf("genres %q", it.Genres)
			}
		}
	})
}

func FuzzGoodbooksBooksTags(f *testing.F) {
	books := "book_id,goodreads_book_id,authors,title,average_rating,ratings_count\n" +
		`1,100,"Ann Author, Bob Writer","A Book, With Comma",4.10,120` + "\n2,200,Solo,Plain,3.5,7\n3,300,Third,Third Book,,\n"
	f.Add([]byte(books), []byte("goodreads_book_id,tag_id,count\r\n100,1,5\r\n100,2,5\r\n200,3,-1\r\n999,1,2\r\n"))
	f.Add([]byte(books+"4,400,x,y,6,1\n5,500,x,y,4,1.5\n"), []byte("goodreads_book_id,tag_id,count\n100,1,5\n"))
	tagNames := map[string]string{"1": "alpha", "2": "beta", "3": "gamma", "4": "alpha"}
	f.Fuzz(func(t *testing.T, booksData, tagsData []byte) {
		var b gbBooks
		c, rep, err := readOne(FormatGoodbooks, modeCSV, booksData, func(d *domainCtx, f *fileCtx, c *collector) error {
			return d.readGBBooks(f, &b)
		})
		if err == nil {
			c.items = b.items
		}
		checkRead(t, c, rep, err)
		if err != nil {
			return
		}
		var tagged []tagCount
		_, trep, err := readOne(FormatGoodbooks, modeCSV, tagsData, func(d *domainCtx, f *fileCtx, c *collector) error {
			var err error
			tagged, err = readGBBookTags(f, &b, tagNames)
			return err
		})
		checkRead(t, &collector{}, trep, err)
		attachGenres(b.items, tagged)
		c.items = b.items
		if err := c.checkInvariants("d", "ns"); err != nil {
			t.Fatal(err)
		}
		for _, it := range b.items {
			seen := map[string]bool{}
			for _, g := range it.Genres {
				if seen[g] {
					t.Fatalf("genre %q twice in %q", g, it.Genres)
				}
				seen[g] = true
			}
		}
	})
}

func FuzzGoodreads(f *testing.F) {
	h := "bookID,title,authors,average_rating,isbn,isbn13,language_code,  num_pages,ratings_count,text_reviews_count,publication_date,publisher\n"
	f.Add([]byte(h + "1,Harry Potter (Harry Potter  #6),J.K. Rowling/Mary GrandPré,4.57,0439785960,9780439785969,eng,652,2095690,27591,9/16/2006,Scholastic Inc.\n" +
		"22128,Patriots (The Coming Collapse),James Wesley, Rawles,3.63,156384155X,9781563841552,eng,342,38,4,1/15/1999,Huntington House Publishers\n"))
	f.Add([]byte(h + "5,T,A, B, C,4.0,1,2,eng,3,4,5,6/31/1982,P\n6,T,A,x,1,2,eng,3,4,5,1/1/2000,P\n7,\"Q\",A,0.00,1,2,eng,3,0,0,1/1/2000,\"P\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, rep, err := readOne(FormatGoodreads, modeComma, data, func(d *domainCtx, f *fileCtx, c *collector) error {
			return d.readGoodreadsBooks(f, c.sink())
		})
		checkRead(t, c, rep, err)
		if err == nil && rep.Rows != int64(len(c.items))+rep.Malformed {
			t.Fatalf("rows %d != %d items + %d malformed", rep.Rows, len(c.items), rep.Malformed)
		}
	})
}

func FuzzLastfmHetrec(f *testing.F) {
	f.Add([]byte("userID\tartistID\ttagID\tday\tmonth\tyear\n2\t52\t13\t1\t4\t2009\n2\t52\t15\t31\t6\t2009\n3\t1\t1\t1\t1\t1956\n"), 0)
	f.Add([]byte("userID\tartistID\ttagID\ttimestamp\n2\t52\t13\t1238536800000\n2\t52\t13\t-5\n"), 1)
	f.Add([]byte("userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t0\r\n"), 2)
	f.Add([]byte("id\tname\turl\tpictureURL\n1\tMALICE MIZER\thttp://x\t\n2\t\tu\tp\n"), 3)
	f.Add([]byte("tagID\ttagValue\r\n1\tmetal\r\n2863\ttropic\xe1lia\r\n"), 4)
	tagNames := map[string]string{"1": "metal", "13": "rock", "15": "pop"}
	f.Fuzz(func(t *testing.T, data []byte, which int) {
		artists := &heldItems{index: map[string]int{"52": 0}, items: []schema.Item{{Domain: "d", Item: "52", Title: "A"}}, lines: []int64{1}}
		tl := &lastfmTagged{first: map[userItem]int64{}}
		c, rep, err := readOne(FormatLastfmHetrec, modeTab, data, func(d *domainCtx, f *fileCtx, c *collector) error {
			switch which % 5 {
			case 0, 1:
				return d.readLastfmTagged(f, which%5 == 0, tagNames, artists, tl, c.sink())
			case 2:
				tl.first[userItem{"ns:2", "51"}] = 42
				return d.readLastfmUserArtists(f, tl, c.sink())
			case 3:
				return d.readLastfmArtists(f, artists)
			}
			_, err := readLastfmTags(f)
			return err
		})
		checkRead(t, c, rep, err)
		if err != nil {
			return
		}
		attachGenres(artists.items, tl.genres)
		c.items = artists.items
		if err := c.checkInvariants("d", "ns"); err != nil {
			t.Fatal(err)
		}
		for k, ts := range tl.first {
			found := false
			for _, tg := range c.tags {
				if tg.User == k.user && tg.Item == k.item && *tg.Timestamp == ts {
					found = true
				}
				if tg.User == k.user && tg.Item == k.item && *tg.Timestamp < ts {
					t.Fatalf("earliest time %d of %v, but a tag at %d", ts, k, *tg.Timestamp)
				}
			}
			if !found && which%5 != 2 {
				t.Fatalf("earliest time %d of %v matches no tag", ts, k)
			}
		}
	})
}

func FuzzLastfm1K(f *testing.F) {
	const sak = "a7f7df4a-77d8-4f12-8acd-5c60c93f4de8"
	f.Add([]byte("user_000001\t2009-05-04T23:08:57Z\t" + sak + "\tRyuichi\t\tX\nuser_000001\t2009-05-04T13:54:10Z\t\tBand\t\tY\n"))
	f.Add([]byte("u\t2009-02-30T00:00:00Z\t\tB\t\tY\nu\t2009-05-06T01:00:00+02:00\t\tB\t\tY\nu\tx\t\t\t\t\nu\t2009-05-04T13:54:10Z\tm\t\t\t"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, rep, err := readOne(FormatLastfm1K, modeTab, data, func(d *domainCtx, f *fileCtx, c *collector) error {
			return d.readLastfm1KPlays(f, c.sink())
		})
		checkRead(t, c, rep, err)
		if err != nil {
			return
		}
		var plays float64
		items := map[string]bool{}
		for _, it := range c.items {
			items[it.Item] = true
		}
		for i, x := range c.inter {
			plays += x.Value
			if !items[x.Item] {
				t.Fatalf("interaction with item %q that was not emitted", x.Item)
			}
			if i > 0 && (x.User < c.inter[i-1].User || x.User == c.inter[i-1].User && x.Item <= c.inter[i-1].Item) {
				t.Fatalf("not sorted at %d", i)
			}
		}
		if int64(plays) != rep.Rows-rep.Malformed {
			t.Fatalf("%v plays aggregated from %d good rows", plays, rep.Rows-rep.Malformed)
		}
	})
}
