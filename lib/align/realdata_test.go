package align

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/testutil"
)

// The real-data tests parse the shared datasets with a few lines each, on
// purpose: lib/ingest owns the real parsers, and these floors must not move
// when ingest changes.

// Coverage floors, set just below the values measured on the shared copies
// (MovieLens 9,708/9,742 = 99.65%; Last.fm 11,017/12,523 = 87.97%).
const (
	movieLensItemFloor = 0.99
	lastfmArtistFloor  = 0.875
)

func readTSV(t *testing.T, path string, fn func(line int, f []string)) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		if n == 1 {
			continue // header
		}
		if line := strings.TrimRight(sc.Text(), "\r"); line != "" {
			fn(n, strings.Split(line, "\t"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// latin1 decodes ISO-8859-1 bytes (tags.dat's encoding): each byte is a rune.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

func TestMovieLensCoverage(t *testing.T) {
	m := mustDefault(t)
	fh, err := os.Open(filepath.Join(testutil.DataRoot(t), "movielens-latest-small", "movies.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	c := m.NewCoverage()
	for _, r := range recs[1:] {
		if err := c.AddItem("movies", &schema.Item{Domain: "movielens", Item: r[0], Genres: strings.Split(r[2], "|")}); err != nil {
			t.Fatal(err)
		}
	}
	cv := c.Result()[0]
	t.Logf("MovieLens: %d/%d movies covered (%.4f); unmapped %v", cv.ItemsCovered, cv.Items, cv.ItemShare, cv.Unmapped)
	if cv.Items != 9742 {
		t.Errorf("%d movies, want 9,742", cv.Items)
	}
	if cv.ItemShare < movieLensItemFloor {
		t.Errorf("MovieLens item coverage %.4f < %.2f", cv.ItemShare, movieLensItemFloor)
	}
	for _, u := range cv.Unmapped {
		if u.Genre != "(no genres listed)" && u.Genre != "imax" {
			t.Errorf("MovieLens genre %q is unmapped", u.Genre)
		}
	}
}

func TestLastfmCoverage(t *testing.T) {
	m := mustDefault(t)
	dir := filepath.Join(testutil.DataRoot(t), "lastfm-hetrec2011-2k")
	tags := map[string]string{}
	readTSV(t, filepath.Join(dir, "tags.dat"), func(_ int, f []string) { tags[f[0]] = latin1(f[1]) })
	artistTags := map[string][]string{}
	readTSV(t, filepath.Join(dir, "user_taggedartists.dat"), func(line int, f []string) {
		tag, ok := tags[f[2]]
		if !ok {
			t.Fatalf("user_taggedartists.dat:%d: unknown tag id %s", line, f[2])
		}
		artistTags[f[1]] = append(artistTags[f[1]], tag)
	})
	c := m.NewCoverage()
	for a, ts := range artistTags {
		if err := c.AddItem("music", &schema.Item{Domain: "lastfm", Item: a, Genres: ts}); err != nil {
			t.Fatal(err)
		}
	}
	readTSV(t, filepath.Join(dir, "user_artists.dat"), func(_ int, f []string) {
		c.AddInteraction(&schema.Interaction{Domain: "lastfm", User: f[0], Item: f[1]})
	})
	cv := c.Result()[0]
	t.Logf("Last.fm: %d/%d tagged artists covered (%.4f); %d/%d plays relations on covered artists (%.4f), %d on untagged artists",
		cv.ItemsCovered, cv.Items, cv.ItemShare, cv.InteractionsCovered, cv.Interactions, cv.InteractionShare, cv.InteractionsUnknownItem)
	if cv.Items != 12523 {
		t.Errorf("%d tagged artists, want 12,523", cv.Items)
	}
	if cv.ItemShare < lastfmArtistFloor {
		t.Errorf("Last.fm tagged-artist coverage %.4f < %.3f", cv.ItemShare, lastfmArtistFloor)
	}
}

// TestRowsNameRealGenres guards the table against typos: every source genre
// must be one the shared datasets actually use (MovieLens genres, goodbooks
// tag names, Last.fm tag names), compared in normal form.
func TestRowsNameRealGenres(t *testing.T) {
	m := mustDefault(t)
	root := testutil.DataRoot(t)
	known := map[string]map[string]bool{"movies": {}, "books": {}, "music": {}}
	for _, g := range movieLensGenres {
		known["movies"][Normalize(g)] = true
	}
	fh, err := os.Open(filepath.Join(root, "goodbooks-10k", "tags.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[1:] {
		known["books"][Normalize(r[1])] = true
	}
	readTSV(t, filepath.Join(root, "lastfm-hetrec2011-2k", "tags.dat"), func(_ int, f []string) {
		known["music"][Normalize(latin1(f[1]))] = true
	})
	for _, r := range m.Rows() {
		if !known[r.Kind][r.Source] {
			t.Errorf("row %s,%s,%s: %q is not a %s genre of the shared datasets", r.Kind, r.Source, r.Universal, r.Source, r.Kind)
		}
	}
}
