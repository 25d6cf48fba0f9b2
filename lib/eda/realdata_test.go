package eda

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/testutil"
)

// The real-data tests parse the shared files with a few lines each, so they
// do not depend on lib/ingest. Expected values were measured independently:
// awk over ratings.csv gives mean 3.5015569836 over 100,836 rows; Python's
// statistics module gives the same mean, median 3.5 and variances; pandas
// (groupby mean, rank().corr()) gives the Douban correlations, and numpy
// the MovieLens long-tail figures.

// scanRows calls fn with the fields of each data row of a delimited file.
func scanRows(t *testing.T, path, sep string, header bool, fn func(line int64, f []string)) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	var n int64
	for sc.Scan() {
		n++
		if header && n == 1 {
			continue
		}
		if line := strings.TrimRight(sc.Text(), "\r"); line != "" {
			fn(n, strings.Split(line, sep))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func parseValue(t *testing.T, path string, line int64, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s:%d: %v", path, line, err)
	}
	return v
}

func TestMovieLensRatings(t *testing.T) {
	path := filepath.Join(testutil.DataRoot(t), "movielens-latest-small", "ratings.csv")
	a := mustNew(t, Options{})
	scanRows(t, path, ",", true, func(line int64, f []string) {
		x := &schema.Interaction{Domain: "movielens", User: "movielens:" + f[0], Item: f[1],
			Value: parseValue(t, path, line, f[2]), Kind: schema.KindRating, Source: path, Line: line}
		if err := a.AddInteraction(x); err != nil {
			t.Fatal(err)
		}
	})
	d := result(t, a).Domains[0]
	if d.Interactions != 100836 || d.Users != 610 || d.Items != 9724 {
		t.Errorf("counts %d/%d/%d, want 100,836/610/9,724", d.Interactions, d.Users, d.Items)
	}
	r := d.Ratings
	if math.Abs(float64(r.Mean)-3.501556983616962) > 1e-4 || r.Median != 3.5 {
		t.Errorf("mean %v median %v, want 3.5016 and 3.5", r.Mean, r.Median)
	}
	if math.Abs(float64(r.VariancePopulation)-1.0868564357329935) > 1e-9 || math.Abs(float64(r.VarianceSample)-1.086867214296347) > 1e-9 {
		t.Errorf("variances %v %v", r.VariancePopulation, r.VarianceSample)
	}
	if len(r.Histogram) != 10 || r.Histogram[0] != (ValueCount{0.5, 1370}) || r.Histogram[7] != (ValueCount{4, 26818}) {
		t.Errorf("histogram %v", r.Histogram)
	}
	if want := 1 - 100836.0/(610*9724); math.Abs(float64(d.Sparsity)-want) > 1e-15 {
		t.Errorf("sparsity %v, want %v", d.Sparsity, want)
	}
	ip := d.ItemPopularity
	t.Logf("MovieLens: mean %.10f; item Gini %.4f, top 20%% of items carry %.4f, %.4f of items carry 80%%; user Gini %.4f",
		r.Mean, ip.Gini, ip.TopInteractionShare, ip.CoverFraction, d.UserActivity.Gini)
	// Cross-checked with numpy: sorted counts, sum((2i-n-1)x)/(n sum x),
	// top ceil(0.2n) share, argmax(cumsum >= 0.8 total)+1 over n.
	for _, c := range []struct {
		name      string
		got, want Float
	}{
		{"item Gini", ip.Gini, 0.7162802414839502},
		{"item top-20% share", ip.TopInteractionShare, 0.7703399579515252},
		{"items for 80%", ip.CoverFraction, 0.22881530234471412},
		{"user Gini", d.UserActivity.Gini, 0.6039837450715299},
	} {
		if math.Abs(float64(c.got-c.want)) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDoubanPair(t *testing.T) {
	root := filepath.Join(testutil.DataRoot(t), "douban-cross-domain")
	a := mustNew(t, Options{Pairs: []Pair{{"douban-book", "douban-music"}}})
	for domain, file := range map[string]string{"douban-book": "douban_book/ratings.dat", "douban-music": "douban_music/ratings.dat"} {
		path := filepath.Join(root, file)
		scanRows(t, path, "\t", false, func(line int64, f []string) {
			x := &schema.Interaction{Domain: domain, User: "douban:" + f[0], Item: f[1],
				Value: parseValue(t, path, line, f[2]), Kind: schema.KindRating, Source: path, Line: line}
			if err := a.AddInteraction(x); err != nil {
				t.Fatal(err)
			}
		})
	}
	p := result(t, a).Pairs[0]
	t.Logf("Douban: overlap %d; mean rating r %.6f rho %.6f; activity r %.6f rho %.6f; deviations %.4f / %.4f",
		p.Overlap, p.MeanRating.Pearson, p.MeanRating.Spearman, p.Activity.Pearson, p.Activity.Spearman, p.Deviation.MeanA, p.Deviation.MeanB)
	if p.UsersA != 2110 || p.UsersB != 1672 || p.Overlap != 1566 {
		t.Errorf("users %d/%d overlap %d, want 2,110/1,672/1,566", p.UsersA, p.UsersB, p.Overlap)
	}
	for _, c := range []struct {
		name      string
		got, want Float
	}{
		{"mean rating pearson", p.MeanRating.Pearson, 0.27903453669311},
		{"mean rating spearman", p.MeanRating.Spearman, 0.33856435338248},
		{"deviation pearson", p.Deviation.Pearson, 0.27903453669311},
		{"activity pearson", p.Activity.Pearson, 0.33702479510679},
		{"activity spearman", p.Activity.Spearman, 0.34043372733844},
		{"deviation mean book", p.Deviation.MeanA, 0.06319224466952},
		{"deviation mean music", p.Deviation.MeanB, 0.16009542189406},
	} {
		if math.Abs(float64(c.got-c.want)) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
