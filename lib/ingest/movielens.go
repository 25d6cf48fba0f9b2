package ingest

import (
	"bytes"
	"io"
	"strings"

	"github.com/crossrec/crossrec/lib/schema"
)

// noGenres is MovieLens' marker for a movie without genres.
const noGenres = "(no genres listed)"

// ReadMovieLensCSV reads the ml-latest-small / ml-latest / ml-20m / ml-25m
// layout: movies.csv (items), ratings.csv (half-star ratings with unix
// timestamps) and, when present, tags.csv, in that order. The files are
// RFC 4180 CSV with a header, LF or CRLF.
func ReadMovieLensCSV(in Input, sink Sink, rep *Report) error {
	return run(in, FormatMovieLensCSV, rep, func(d *domainCtx) error {
		if err := d.withFile("movies", modeCSV, func(f *fileCtx) error { return d.readMLMoviesCSV(f, sink) }); err != nil {
			return err
		}
		if err := d.withFile("ratings", modeCSV, func(f *fileCtx) error { return d.readMLRatingsCSV(f, sink) }); err != nil {
			return err
		}
		return d.withFile("tags", modeCSV, func(f *fileCtx) error { return d.readMLTagsCSV(f, sink) })
	})
}

// withFile opens a role's file, runs read on it and closes it; an absent
// optional file is skipped.
func (d *domainCtx) withFile(role string, mode splitMode, read func(*fileCtx) error) error {
	f, err := d.open(role, mode)
	if err != nil || f == nil {
		return err
	}
	defer f.close()
	return read(f)
}

func (d *domainCtx) readMLRatingsCSV(f *fileCtx, sink Sink) error {
	names := [4]string{"userId", "movieId", "rating", "timestamp"}
	idx, err := f.header(names[:]...)
	if err != nil {
		return err
	}
	return d.readRatings(f, ratingLayout{user: idx[0], item: idx[1], rating: idx[2], ts: idx[3], names: names, scale: halfStars,
		knownNote: "movieId not in movies file"}, sink)
}

// startKnown starts marking catalogue item ids: from now on, ratings of
// items outside the catalogue are noted (an empty catalogue makes every
// rating noted).
func (d *domainCtx) startKnown() { d.items.marking = true }

// addKnown marks a catalogue item id and returns its interned string.
func (d *domainCtx) addKnown(id []byte) string { return d.items.mark(id) }

// isKnown reports whether an item is in the catalogue, true when there is no
// catalogue to compare with.
func (d *domainCtx) isKnown(id []byte) bool {
	_, ok := d.items.lookup(id)
	return ok || !d.items.marking
}

func (d *domainCtx) readMLMoviesCSV(f *fileCtx, sink Sink) error {
	d.startKnown()
	idx, err := f.header("movieId", "title", "genres")
	if err != nil {
		return err
	}
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
		id := fields[idx[0]]
		if !isDigits(id) {
			if err := f.badID(no, "movieId", id); err != nil {
				return err
			}
			continue
		}
		d.addKnown(id)
		if err := f.item(sink, schema.Item{
			Domain: d.in.Domain,
			Item:   d.items.get(id),
			Title:  string(fields[idx[1]]),
			Genres: splitGenres(fields[idx[2]], '|'),
			Source: f.rel,
		}, no); err != nil {
			return err
		}
	}
}

// splitGenres splits a MovieLens genre list. "(no genres listed)" and an
// empty field mean none (nil).
func splitGenres(b []byte, sep byte) []string {
	s := strings.TrimSpace(string(b))
	if s == "" || s == noGenres {
		return nil
	}
	parts := strings.Split(s, string(sep))
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && p != noGenres {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (d *domainCtx) readMLTagsCSV(f *fileCtx, sink Sink) error {
	idx, err := f.header("userId", "movieId", "tag", "timestamp")
	if err != nil {
		return err
	}
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
		u, it, tag, tsb := fields[idx[0]], fields[idx[1]], bytes.TrimSpace(fields[idx[2]]), fields[idx[3]]
		if !isDigits(u) {
			if err := f.badID(no, "userId", u); err != nil {
				return err
			}
			continue
		}
		if !isDigits(it) {
			if err := f.badID(no, "movieId", it); err != nil {
				return err
			}
			continue
		}
		if len(tag) == 0 {
			if err := f.bad(no, "tag", "empty", "empty tag"); err != nil {
				return err
			}
			continue
		}
		ts, ok := parseInt(tsb)
		if !ok || ts < 0 {
			if err := f.badNumber(no, "timestamp", tsb); err != nil {
				return err
			}
			continue
		}
		if err := f.tag(sink, schema.Tag{
			Domain:    d.in.Domain,
			User:      d.users.get(u),
			Item:      d.items.get(it),
			Tag:       d.text.get(tag),
			Timestamp: d.ts.ptr(ts),
			Source:    f.rel,
			Line:      no,
		}); err != nil {
			return err
		}
	}
}
