package align

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func mustDefault(t *testing.T) *Mapping {
	t.Helper()
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDefaultTableValid(t *testing.T) {
	m := mustDefault(t)
	genres := m.Genres()
	if n := len(genres); n < 20 || n > 30 {
		t.Errorf("%d universal genres, want 20-30", n)
	}
	used := map[string]bool{}
	kinds := map[string]map[string]bool{}
	rows := m.Rows()
	for i, r := range rows {
		if !slices.Contains(m.Universal(), r.Universal) {
			t.Errorf("row %v: unknown universal genre", r)
		}
		used[r.Universal] = true
		if kinds[r.Universal] == nil {
			kinds[r.Universal] = map[string]bool{}
		}
		kinds[r.Universal][r.Kind] = true
		if i > 0 && compareRows(rows[i-1], r) >= 0 {
			t.Errorf("row %d %v not strictly after %v (unsorted or duplicate)", i+2, r, rows[i-1])
		}
	}
	for _, g := range genres {
		if !used[g.ID] {
			t.Errorf("universal genre %s is used by no row", g.ID)
		}
	}
	// Cross-domain links are the point: most genres must reach two kinds.
	multi := 0
	for _, k := range kinds {
		if len(k) >= 2 {
			multi++
		}
	}
	if multi < len(genres)*3/4 {
		t.Errorf("only %d of %d universal genres link two or more kinds", multi, len(genres))
	}
	if m.Digest() == "" {
		t.Error("empty digest")
	}
}

func TestEmbeddedFilesFormat(t *testing.T) {
	for name, b := range map[string][]byte{UniversalFile: universalCSV, MapFile: mapCSV} {
		if bytes.ContainsRune(b, '\r') {
			t.Errorf("%s: contains CR, want LF only", name)
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			t.Errorf("%s: no final newline", name)
		}
	}
	if !bytes.HasPrefix(mapCSV, []byte("kind,source_genre,universal_genre\n")) {
		t.Errorf("%s: wrong header", MapFile)
	}
	if !bytes.HasPrefix(universalCSV, []byte("id,name,description\n")) {
		t.Errorf("%s: wrong header", UniversalFile)
	}
}

// movieLensGenres is every genre of ml-latest-small's movies.csv plus the
// ml-100k/ml-1m spelling "Children's".
var movieLensGenres = []string{
	"Action", "Adventure", "Animation", "Children", "Children's", "Comedy", "Crime",
	"Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
	"Romance", "Sci-Fi", "Thriller", "War", "Western",
}

func TestEveryMovieLensGenreMaps(t *testing.T) {
	m := mustDefault(t)
	for _, g := range movieLensGenres {
		if idx, ok := m.Lookup("movies", g); !ok || len(idx) == 0 {
			t.Errorf("MovieLens genre %q maps to nothing", g)
		}
	}
	for _, g := range []string{"(no genres listed)", "IMAX"} {
		if _, ok := m.Lookup("movies", g); ok {
			t.Errorf("MovieLens %q should map to nothing", g)
		}
	}
	if got := m.MapIDs("movies", []string{"Film-Noir"}); !slices.Equal(got, []string{"classics", "crime_mystery_thriller"}) {
		t.Errorf("Film-Noir -> %v", got)
	}
}

func TestCrossDomainLinks(t *testing.T) {
	m := mustDefault(t)
	for _, c := range []struct {
		kind, genre, want string
	}{
		{"movies", "Horror", "horror"},
		{"books", "horror", "horror"},
		{"music", "horror punk", "horror"},
		{"music", "gothic rock", "horror"},
		{"books", "science-fiction", "science_fiction"},
		{"music", "space rock", "science_fiction"},
		{"movies", "Western", "country_western"},
		{"music", "country", "country_western"},
		{"books", "young-adult", "young_adult"},
		{"music", "teen pop", "young_adult"},
		{"books", "poetry", "poetry_spoken_word"},
		{"music", "spoken word", "poetry_spoken_word"},
	} {
		if got := m.MapIDs(c.kind, []string{c.genre}); !slices.Contains(got, c.want) {
			t.Errorf("%s %q -> %v, want it to include %s", c.kind, c.genre, got, c.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	const head = "kind,source_genre,universal_genre\n"
	for _, c := range []struct {
		name, table, want string
	}{
		{"unknown genre", head + "movies,horror,horrible\n", "my.csv:2: unknown universal genre \"horrible\""},
		{"bad kind", head + "films,horror,horror\n", "my.csv:2: kind \"films\""},
		{"duplicate", head + "movies,horror,horror\nmovies,horror,horror\n", "my.csv:3: duplicate row"},
		{"unsorted", head + "music,rock,rock\nmovies,horror,horror\n", "my.csv:3: row movies,horror,horror is out of order"},
		{"not normal", head + "movies,Sci-Fi,science_fiction\n", "my.csv:2: source_genre \"Sci-Fi\" is not in normal form; write \"sci fi\""},
		{"header", "kind,genre,universal\nmovies,horror,horror\n", "my.csv:1: header"},
		{"fields", head + "movies,horror\n", "line 2"},
		{"empty", "", "my.csv: empty file"},
	} {
		_, err := Load(strings.NewReader(c.table), "my.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestLoadWithOwnUniversal(t *testing.T) {
	uni := "id,name,description\nscary,Scary,\nfunny,Funny,\n"
	tab := "kind,source_genre,universal_genre\nmovies,comedy,funny\nmovies,horror comedy,funny\nmovies,horror comedy,scary\n"
	m, err := LoadWith(strings.NewReader(uni), "u.csv", strings.NewReader(tab), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Map("movies", []string{"Horror-Comedy", "comedy", "drama"}); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("Map = %v, want [0 1]", got)
	}
	if got := m.Vector("movies", []string{"Comedy"}); !slices.Equal(got, []float32{0, 1}) {
		t.Errorf("Vector = %v, want [0 1]", got)
	}
	if got := m.Map("music", []string{"comedy"}); len(got) != 0 {
		t.Errorf("music comedy mapped to %v: kinds must not leak", got)
	}
	for _, bad := range []string{
		"id,name,description\nscary,Scary,\nscary,Again,\n",
		"id,name,description\nScary,Scary,\n",
		"id,name,description\n",
	} {
		if _, err := LoadWith(strings.NewReader(bad), "u.csv", strings.NewReader(tab), "t.csv"); err == nil || !strings.Contains(err.Error(), "u.csv") {
			t.Errorf("universal %q: err %v, want an error naming u.csv", bad, err)
		}
	}
}

func TestMapVectorDefault(t *testing.T) {
	m := mustDefault(t)
	ids := m.Universal()
	got := m.Map("movies", []string{"Action", "Adventure", "Sci-Fi", "IMAX", "(no genres listed)"})
	want := []int{slices.Index(ids, "action_adventure"), slices.Index(ids, "science_fiction")}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Map = %v, want %v", got, want)
	}
	v := m.Vector("movies", []string{"Action", "Adventure", "Sci-Fi"})
	if len(v) != len(ids) {
		t.Fatalf("vector length %d, want %d", len(v), len(ids))
	}
	var ones int
	for i, x := range v {
		if x == 1 {
			ones++
			if !slices.Contains(want, i) {
				t.Errorf("vector has 1 at %d (%s)", i, ids[i])
			}
		}
	}
	if ones != len(want) {
		t.Errorf("vector has %d ones, want %d", ones, len(want))
	}
	if got := m.Map("movies", nil); len(got) != 0 {
		t.Errorf("Map(nil) = %v", got)
	}
}
