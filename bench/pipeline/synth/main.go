// Command synth writes a synthetic dataset in the MovieLens ml-latest layout
// (ratings.csv and movies.csv, CRLF, as ml-latest-small is published) for
// the data-stage benchmark: N ratings with the skew of the real thing.
//
//	go run ./bench/pipeline/synth -out /tmp/ml-synth -n 20000000 -seed 1
//
// What it models, and how:
//   - Item popularity: a Zipf law over a random permutation of the movie ids
//     (s 1.2, v 20; popularity is unrelated to id), mixed with 1% uniform
//     draws so every movie can be drawn; most movies get few ratings.
//   - User activity: at least 20 ratings (MovieLens' floor) plus a
//     log-normal excess shaped like ml-20m's (median user about 68 ratings,
//     mean 144), capped at a third of the catalogue, scaled to N rows.
//   - Ratings: half stars 0.5-5 from a user bias, an item bias and noise,
//     whole stars about twice as common as half stars, mean near 3.5.
//   - Timestamps: each user rates over a span (mean 400 days) starting
//     between 1996 and 2023 and ending before 2024, in unix seconds.
//   - Duplicates: about 1 in 10,000 rows repeats an earlier (user, movie)
//     of the same user with a later or (1 in 4) equal timestamp, so the
//     clean stage's duplicate rule has work to do; they count towards N.
//   - Rows come grouped by user, movies ascending within a user (the
//     published order), duplicates at the end of their user's block.
//   - movies.csv: every movie id, titles with a year, some quoted because
//     they contain commas (and a few with doubled quotes), '|'-separated
//     genres, a few "(no genres listed)".
//
// The output is a pure function of the flags: one seeded generator, used in
// a fixed order.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

var genres = []string{"Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
	"Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery",
	"Romance", "Sci-Fi", "Thriller", "War", "Western"}

func main() {
	out := flag.String("out", "", "folder to write ratings.csv and movies.csv into (created)")
	n := flag.Int("n", 20_000_000, "number of rating rows, duplicates included")
	users := flag.Int("users", 0, "number of users (default n/144, ml-20m's ratio)")
	movies := flag.Int("movies", 0, "number of movies (default n/700, at least 3n/users)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: synth -out DIR [-n ROWS] [-users U] [-movies M] [-seed S]")
		os.Exit(2)
	}
	rows, nUsers, nMovies := *n, *users, *movies
	if nUsers == 0 {
		nUsers = max(rows/144, 1)
	}
	if nMovies == 0 { // ml-20m's ratio; small inputs need a bigger catalogue
		nMovies = max(rows/700, 100, 3*rows/nUsers)
	}
	if rows > nUsers*nMovies/2 { // users rate distinct movies, a few twice
		fmt.Fprintf(os.Stderr, "synth: %d rows need more than %d users x %d movies / 2\n", rows, nUsers, nMovies)
		os.Exit(2)
	}
	start := time.Now()
	check(os.MkdirAll(*out, 0o755))
	g := newGen(*seed, nUsers, nMovies)
	check(g.writeMovies(filepath.Join(*out, "movies.csv")))
	written, dups, err := g.writeRatings(filepath.Join(*out, "ratings.csv"), rows)
	check(err)
	fmt.Fprintf(os.Stderr, "synth: %d ratings (%d duplicate pairs), %d users, %d movies in %s (%.1fs)\n",
		written, dups, nUsers, nMovies, *out, time.Since(start).Seconds())
}

type gen struct {
	r        *rand.Rand
	users    int
	movieIDs []int     // movie ids, ascending; ids have gaps like the real ones
	byRank   []int     // popularity rank -> index into movieIDs
	itemBias []float64 // per movie index
	zipf     *rand.Zipf
}

func newGen(seed uint64, users, movies int) *gen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{r: r, users: users}
	// Ids with gaps, as MovieLens' grow over time: 1, 2, 3, ... then sparser.
	id := 0
	for range movies {
		id += 1 + int(r.ExpFloat64()*float64(len(g.movieIDs))/float64(movies)*4)
		g.movieIDs = append(g.movieIDs, id)
	}
	g.byRank = r.Perm(movies)
	g.itemBias = make([]float64, movies)
	for i := range g.itemBias {
		g.itemBias[i] = r.NormFloat64() * 0.45
	}
	g.zipf = rand.NewZipf(r, 1.2, 20, uint64(movies-1))
	return g
}

// pick draws a movie index from the popularity mixture.
func (g *gen) pick() int {
	if g.r.Float64() < 0.01 {
		return g.r.IntN(len(g.movieIDs))
	}
	return g.byRank[g.zipf.Uint64()]
}

func (g *gen) writeMovies(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("movieId,title,genres\r\n")
	var b []byte
	for _, id := range g.movieIDs {
		year := 1920 + g.r.IntN(104)
		b = strconv.AppendInt(b[:0], int64(id), 10)
		b = append(b, ',')
		switch k := g.r.IntN(100); {
		case k < 20: // "Movie, The (1995)" style: quoted because of the comma
			b = fmt.Appendf(b, "\"Synthetic Movie %d, The (%d)\"", id, year)
		case k < 22: // a quote inside a quoted title, doubled as RFC 4180 says
			b = fmt.Appendf(b, "\"\"\"Quoted\"\" Movie %d, A (%d)\"", id, year)
		default:
			b = fmt.Appendf(b, "Synthetic Movie %d (%d)", id, year)
		}
		b = append(b, ',')
		if g.r.IntN(100) == 0 {
			b = append(b, "(no genres listed)"...)
		} else {
			// 1-4 distinct genres, in the published alphabetical order.
			var pick [4]int
			ng, first := 1+g.r.IntN(4), g.r.IntN(len(genres))
			for j := range ng {
				pick[j] = (first + j*3) % len(genres)
			}
			slices.Sort(pick[:ng])
			for j, k := range pick[:ng] {
				if j > 0 {
					b = append(b, '|')
				}
				b = append(b, genres[k]...)
			}
		}
		b = append(b, '\r', '\n')
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// userCounts draws every user's number of rows: 20 (MovieLens' floor) plus
// a log-normal excess (median 48, mean 124, as in ml-20m), capped at a third
// of the catalogue, scaled so the counts sum to exactly n.
func (g *gen) userCounts(n int) []int {
	floor := min(20, max(n/g.users, 1))
	// A third of the catalogue, or more when n needs it (small catalogues).
	limit := max(len(g.movieIDs)/3, floor, (n+g.users-1)/g.users)
	w := make([]float64, g.users)
	for i := range w {
		w[i] = math.Exp(3.87 + 1.38*g.r.NormFloat64())
	}
	counts := make([]int, g.users)
	// Find the scale that fills n rows once capped users keep their cap:
	// a few fixed-point steps, then hand out the rounding remainder.
	extra := float64(n - floor*g.users)
	scale := 0.0
	for range 20 {
		free, capped := 0.0, 0
		for i := range w {
			if c := floor + int(scale*w[i]); scale > 0 && c >= limit {
				capped++
			} else {
				free += w[i]
			}
		}
		scale = (extra - float64(capped*(limit-floor))) / free
	}
	total := 0
	for i := range w {
		counts[i] = min(max(floor+int(scale*w[i]), 1), limit)
		total += counts[i]
	}
	for total != n { // +-1 to random users that can take it
		u := g.r.IntN(g.users)
		switch {
		case total < n && counts[u] < limit:
			counts[u]++
			total++
		case total > n && counts[u] > 1:
			counts[u]--
			total--
		}
	}
	return counts
}

func (g *gen) writeRatings(path string, n int) (rows, dups int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriterSize(f, 4<<20)
	w.WriteString("userId,movieId,rating,timestamp\r\n")
	counts := g.userCounts(n)
	seen := make([]bool, len(g.movieIDs))
	type rating struct {
		movie int // index into movieIDs
		stars int // half stars, 1..10
		ts    int64
	}
	var mine []rating
	var b []byte
	date := func(y int) int64 { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix() }
	t1996, t2023, t2024 := date(1996), date(2023), date(2024)
	for u, c := range counts {
		// Duplicates are part of the user's rows: about 1 in 10,000.
		nd := 0
		for range c {
			if g.r.IntN(10_000) == 0 {
				nd++
			}
		}
		nd = min(nd, c/2)
		bias := g.r.NormFloat64() * 0.5
		begin := t1996 + g.r.Int64N(t2023-t1996)
		span := min(int64(g.r.ExpFloat64()*400*86400), t2024-begin) // mean 400 days
		mine = mine[:0]
		for len(mine) < c-nd {
			m := g.pick()
			if seen[m] {
				continue
			}
			seen[m] = true
			mine = append(mine, rating{movie: m, stars: g.stars(bias, g.itemBias[m]), ts: begin + g.r.Int64N(span+1)})
		}
		for _, x := range mine {
			seen[x.movie] = false
		}
		slices.SortFunc(mine, func(a, b rating) int { return a.movie - b.movie })
		k := len(mine)
		for range nd { // re-rate an earlier movie: later, or at the same second
			x := mine[g.r.IntN(k)]
			if g.r.IntN(4) != 0 {
				x.ts += 1 + g.r.Int64N(86400*30)
			}
			x.stars = g.stars(bias, g.itemBias[x.movie])
			mine = append(mine, x)
		}
		dups += nd
		for _, x := range mine {
			b = strconv.AppendInt(b[:0], int64(u+1), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(g.movieIDs[x.movie]), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(x.stars/2), 10)
			if x.stars%2 == 1 {
				b = append(b, ".5"...)
			} else {
				b = append(b, ".0"...)
			}
			b = append(b, ',')
			b = strconv.AppendInt(b, x.ts, 10)
			b = append(b, '\r', '\n')
			w.Write(b)
		}
		rows += len(mine)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return rows, dups, err
	}
	return rows, dups, f.Close()
}

// stars draws a rating in half stars (1 = 0.5 stars ... 10 = 5 stars).
func (g *gen) stars(userBias, itemBias float64) int {
	v := 3.55 + userBias + itemBias + g.r.NormFloat64()*0.85
	var s int
	if g.r.IntN(3) == 0 { // a half star allowed
		s = int(math.Round(v * 2))
	} else { // whole stars
		s = int(math.Round(v)) * 2
	}
	return min(max(s, 1), 10)
}

func check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "synth: %v\n", err)
		os.Exit(1)
	}
}
