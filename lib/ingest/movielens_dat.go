package ingest

import (
	"fmt"
	"io"
	"strings"

	"github.com/crossrec/crossrec/lib/schema"
)

// ReadMovieLens1M reads the ml-1m layout: "::"-separated ratings.dat
// (UserID::MovieID::Rating::Timestamp), movies.dat (MovieID::Title::Genres)
// and, when present, users.dat, read in that order (movies, ratings, users).
// users.dat is validated and counted only: the pipeline uses no
// demographics. The files have no header and are latin-1; lineReader
// decodes them to UTF-8.
func ReadMovieLens1M(in Input, sink Sink, rep *Report) error {
	return run(in, FormatMovieLens1M, rep, func(d *domainCtx) error {
		if err := d.withFile("movies", modeColons, func(f *fileCtx) error { return d.readML1MMovies(f, sink) }); err != nil {
			return err
		}
		if err := d.withFile("ratings", modeColons, func(f *fileCtx) error { return d.readML1MRatings(f, sink) }); err != nil {
			return err
		}
		return d.withFile("users", modeColons, d.readML1MUsers)
	})
}

func (d *domainCtx) readML1MRatings(f *fileCtx, sink Sink) error {
	f.ncols = 4
	return d.readRatings(f, ratingLayout{user: 0, item: 1, rating: 2, ts: 3,
		names: [4]string{"UserID", "MovieID", "Rating", "Timestamp"}, scale: oneToFive,
		knownNote: "MovieID not in movies file"}, sink)
}

func (d *domainCtx) readML1MMovies(f *fileCtx, sink Sink) error {
	d.startKnown()
	f.ncols = 3
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(fields) != f.ncols {
			if err := f.badCount(no, len(fields)); err != nil {
				return err
			}
			continue
		}
		if !isDigits(fields[0]) {
			if err := f.badID(no, "MovieID", fields[0]); err != nil {
				return err
			}
			continue
		}
		d.addKnown(fields[0])
		if err := f.item(sink, schema.Item{
			Domain: d.in.Domain,
			Item:   d.items.get(fields[0]),
			Title:  string(fields[1]),
			Genres: splitGenres(fields[2], '|'),
			Source: f.rel,
		}, no); err != nil {
			return err
		}
	}
}

// ml1mAges are the age-group codes of ml-1m's README.
var ml1mAges = map[string]bool{"1": true, "18": true, "25": true, "35": true, "45": true, "50": true, "56": true}

func (d *domainCtx) readML1MUsers(f *fileCtx) error {
	f.ncols = 5
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var bad error
		switch {
		case len(fields) != f.ncols:
			bad = f.badCount(no, len(fields))
		case !isDigits(fields[0]):
			bad = f.badID(no, "UserID", fields[0])
		case string(fields[1]) != "M" && string(fields[1]) != "F":
			bad = f.bad(no, "Gender", "out_of_range", fmt.Sprintf("%s is not M or F", describe(fields[1])))
		case !ml1mAges[string(fields[2])]:
			bad = f.bad(no, "Age", "out_of_range", fmt.Sprintf("%s is not an ml-1m age group", describe(fields[2])))
		case !isSmallInt(fields[3], 0, 20):
			bad = f.bad(no, "Occupation", "out_of_range", fmt.Sprintf("%s is not an occupation code 0-20", describe(fields[3])))
		case len(fields[4]) == 0:
			bad = f.bad(no, "Zip-code", "empty", "empty zip code")
		default:
			f.count[kUser]++
			continue
		}
		if bad != nil {
			return bad
		}
	}
}

func isSmallInt(b []byte, lo, hi int64) bool {
	if !isDigits(b) {
		return false
	}
	v, ok := parseInt(b)
	return ok && v >= lo && v <= hi
}

// ml100kGenres are u.item's 19 genre flags in order, as u.genre names them.
var ml100kGenres = []string{"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
	"Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
	"Thriller", "War", "Western"}

// ReadMovieLens100K reads the ml-100k layout: tab-separated u.data (user, item,
// rating, timestamp), '|'-separated u.item (id, title, release date, video
// release date, IMDb URL, 19 genre flags; read before u.data) and, when
// present, u.user (validated and counted only) and u.genre (the flag names;
// the built-in list otherwise). u.item and u.user are latin-1.
//
// The "unknown" genre flag means no genres, like "(no genres listed)" in the
// csv layouts, so it is not emitted as a genre.
func ReadMovieLens100K(in Input, sink Sink, rep *Report) error {
	return run(in, FormatMovieLens100K, rep, func(d *domainCtx) error {
		genres := ml100kGenres
		if err := d.withFile("genres", modePipe, func(f *fileCtx) error {
			var err error
			genres, err = readML100KGenres(f)
			return err
		}); err != nil {
			return err
		}
		if err := d.withFile("movies", modePipe, func(f *fileCtx) error { return d.readML100KItems(f, genres, sink) }); err != nil {
			return err
		}
		if err := d.withFile("ratings", modeTab, func(f *fileCtx) error { return d.readML100KRatings(f, sink) }); err != nil {
			return err
		}
		return d.withFile("users", modePipe, d.readML100KUsers)
	})
}

func (d *domainCtx) readML100KRatings(f *fileCtx, sink Sink) error {
	f.ncols = 4
	return d.readRatings(f, ratingLayout{user: 0, item: 1, rating: 2, ts: 3,
		names: [4]string{"user id", "item id", "rating", "timestamp"}, scale: oneToFive,
		knownNote: "item id not in u.item"}, sink)
}

// readML100KGenres reads u.genre ("name|index" per line). The indexes must
// run 0..18: the flags of u.item are positional, so a different list means a
// different layout.
func readML100KGenres(f *fileCtx) ([]string, error) {
	f.ncols = 2
	var names []string
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(fields) != 2 {
			return nil, &ParseError{File: f.rel, Line: no, Msg: fmt.Sprintf("expected 2 fields, got %d", len(fields))}
		}
		if i, ok := parseInt(fields[1]); !ok || i != int64(len(names)) {
			return nil, &ParseError{File: f.rel, Line: no, Field: "index",
				Msg: fmt.Sprintf("%s is not the next genre index %d", describe(fields[1]), len(names))}
		}
		names = append(names, strings.TrimSpace(string(fields[0])))
		f.count[kLookup]++
	}
	if len(names) != len(ml100kGenres) {
		return nil, &ParseError{File: f.rel, Msg: fmt.Sprintf("%d genres, want %d", len(names), len(ml100kGenres))}
	}
	return names, nil
}

func (d *domainCtx) readML100KItems(f *fileCtx, genreNames []string, sink Sink) error {
	d.startKnown()
	const flags0 = 5
	f.ncols = flags0 + len(genreNames)
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(fields) != f.ncols {
			if err := f.badCount(no, len(fields)); err != nil {
				return err
			}
			continue
		}
		if !isDigits(fields[0]) {
			if err := f.badID(no, "movie id", fields[0]); err != nil {
				return err
			}
			continue
		}
		var genres []string
		badFlag := -1
		for i, g := range fields[flags0:] {
			switch string(g) {
			case "0":
			case "1":
				if genreNames[i] != "unknown" {
					genres = append(genres, genreNames[i])
				}
			default:
				badFlag = i
			}
			if badFlag >= 0 {
				break
			}
		}
		if badFlag >= 0 {
			g := fields[flags0+badFlag]
			if err := f.bad(no, genreNames[badFlag], "not_a_flag", fmt.Sprintf("%s is not 0 or 1", describe(g))); err != nil {
				return err
			}
			continue
		}
		d.addKnown(fields[0])
		if err := f.item(sink, schema.Item{
			Domain: d.in.Domain,
			Item:   d.items.get(fields[0]),
			Title:  string(fields[1]),
			Genres: genres,
			Source: f.rel,
		}, no); err != nil {
			return err
		}
	}
}

func (d *domainCtx) readML100KUsers(f *fileCtx) error {
	f.ncols = 5
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var bad error
		switch {
		case len(fields) != f.ncols:
			bad = f.badCount(no, len(fields))
		case !isDigits(fields[0]):
			bad = f.badID(no, "user id", fields[0])
		case !isSmallInt(fields[1], 1, 120):
			bad = f.bad(no, "age", "out_of_range", fmt.Sprintf("%s is not an age 1-120", describe(fields[1])))
		case string(fields[2]) != "M" && string(fields[2]) != "F":
			bad = f.bad(no, "gender", "out_of_range", fmt.Sprintf("%s is not M or F", describe(fields[2])))
		case len(fields[3]) == 0:
			bad = f.bad(no, "occupation", "empty", "empty occupation")
		case len(fields[4]) == 0:
			bad = f.bad(no, "zip code", "empty", "empty zip code")
		default:
			f.count[kUser]++
			continue
		}
		if bad != nil {
			return bad
		}
	}
}
