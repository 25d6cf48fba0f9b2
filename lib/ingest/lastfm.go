package ingest

import (
	"bytes"
	"fmt"
	"io"

	"github.com/crossrec/crossrec/lib/schema"
)

// lastfmFounded is the year Last.fm started: a tag dated earlier is kept but
// noted (the published user_taggedartists.dat has a few dated 1956-1979).
const lastfmFounded = 2002

// ReadLastfmHetrec reads hetrec2011-lastfm-2k: artists.dat (items),
// user_artists.dat (play counts, Kind playcount) and, when present, tags.dat
// and the tag assignments, from user_taggedartists-timestamps.dat (ms
// timestamps) when it exists and user_taggedartists.dat (day, month, year)
// otherwise; the two hold the same assignments, so only one is read.
//
// The tag assignments give three things: the Tag rows; each artist's Genres,
// its tag names ordered by number of assignments (descending, ties by name);
// and the play counts' timestamps, since the counts themselves are undated: a
// (user, artist) count gets the earliest date that user tagged that artist,
// nil when they never did. So artists and assignments are read before the
// counts, and memory is proportional to artists and assignments, not counts.
// Emission order: Tag rows, items, interactions.
//
// tags.dat is latin-1 and its siblings UTF-8; user_artists, tags and
// user_friends have CRLF endings and the rest LF. lineReader takes all of it.
func ReadLastfmHetrec(in Input, sink Sink, rep *Report) error {
	return run(in, FormatLastfmHetrec, rep, func(d *domainCtx) error {
		var tagNames map[string]string
		if err := d.withFile("tags", modeTab, func(f *fileCtx) error {
			var err error
			tagNames, err = readLastfmTags(f)
			return err
		}); err != nil {
			return err
		}
		var artists heldItems
		if err := d.withFile("artists", modeTab, func(f *fileCtx) error { return d.readLastfmArtists(f, &artists) }); err != nil {
			return err
		}
		tl := &lastfmTagged{first: map[userItem]int64{}}
		role, dated := "user_taggedartists_timestamps", false
		if p, err := d.locate(role); err != nil {
			return err
		} else if p == "" {
			role, dated = "user_taggedartists", true
		}
		if err := d.withFile(role, modeTab, func(f *fileCtx) error {
			if tagNames == nil {
				return fmt.Errorf("%s: needs the tags file to name its tag ids, and there is none", f.rel)
			}
			return d.readLastfmTagged(f, dated, tagNames, &artists, tl, sink)
		}); err != nil {
			return err
		}
		attachGenres(artists.items, tl.genres)
		if err := artists.emit(sink); err != nil {
			return err
		}
		return d.withFile("user_artists", modeTab, func(f *fileCtx) error { return d.readLastfmUserArtists(f, tl, sink) })
	})
}

// heldItems is a catalogue held until its genres are known.
type heldItems struct {
	items []schema.Item
	lines []int64
	index map[string]int // item id -> index
	rep   *FileReport
}

func (h *heldItems) emit(sink Sink) error {
	for i, it := range h.items {
		h.rep.Emitted[EmitItem]++
		if sink.Item != nil {
			if err := sink.Item(it); err != nil {
				return fmt.Errorf("%s:%d: %w", it.Source, h.lines[i], err)
			}
		}
	}
	return nil
}

// userItem keys per-(user, item) state by interned strings.
type userItem struct{ user, item string }

// lastfmTagged is what the tag assignments leave for the artists and counts.
type lastfmTagged struct {
	first  map[userItem]int64 // earliest tagging time of (user, artist)
	genres []tagCount
}

func readLastfmTags(f *fileCtx) (map[string]string, error) {
	idx, err := f.header("tagID", "tagValue")
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		var bad error
		switch {
		case len(fields) != f.ncols:
			bad = f.badCount(no, len(fields))
		case !isDigits(fields[idx[0]]):
			bad = f.badID(no, "tagID", fields[idx[0]])
		case len(bytes.TrimSpace(fields[idx[1]])) == 0:
			bad = f.bad(no, "tagValue", "empty", "empty tag")
		default:
			if _, dup := names[string(fields[idx[0]])]; dup {
				f.note("duplicate tagID (first kept)")
			} else {
				names[string(fields[idx[0]])] = string(bytes.TrimSpace(fields[idx[1]]))
			}
			f.count[kLookup]++
			continue
		}
		if bad != nil {
			return nil, bad
		}
	}
}

func (d *domainCtx) readLastfmArtists(f *fileCtx, h *heldItems) error {
	d.startKnown()
	idx, err := f.header("id", "name")
	if err != nil {
		return err
	}
	h.index = map[string]int{}
	h.rep = f.rep
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var bad error
		switch id, name := fields[min(idx[0], len(fields)-1)], bytes.TrimSpace(fields[min(idx[1], len(fields)-1)]); {
		case len(fields) != f.ncols:
			bad = f.badCount(no, len(fields))
		case !isDigits(id):
			bad = f.badID(no, "id", id)
		case len(name) == 0:
			bad = f.bad(no, "name", "empty", "empty artist name")
		default:
			if _, dup := h.index[string(id)]; dup {
				f.note("duplicate id (both kept)")
			} else {
				h.index[string(id)] = len(h.items)
			}
			d.addKnown(id)
			n := string(name)
			h.items = append(h.items, schema.Item{
				Domain:   d.in.Domain,
				Item:     d.items.get(id),
				Title:    n,
				Creators: []string{n},
				Source:   f.rel,
			})
			h.lines = append(h.lines, no)
			continue
		}
		if bad != nil {
			return bad
		}
	}
}

// readLastfmTagged reads user_taggedartists.dat (dated: day, month, year) or
// user_taggedartists-timestamps.dat (a unix timestamp in milliseconds).
func (d *domainCtx) readLastfmTagged(f *fileCtx, dated bool, tagNames map[string]string, artists *heldItems, tl *lastfmTagged, sink Sink) error {
	cols := []string{"userID", "artistID", "tagID", "timestamp"}
	if dated {
		cols = []string{"userID", "artistID", "tagID", "day", "month", "year"}
	}
	idx, err := f.header(cols...)
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
		u, a, t := fields[idx[0]], fields[idx[1]], fields[idx[2]]
		var bad error
		var ts int64
		var ok bool
		switch {
		case !isDigits(u):
			bad = f.badID(no, "userID", u)
		case !isDigits(a):
			bad = f.badID(no, "artistID", a)
		case !isDigits(t):
			bad = f.badID(no, "tagID", t)
		case dated:
			ts, ok, bad = f.lastfmDate(no, fields[idx[3]], fields[idx[4]], fields[idx[5]])
		default:
			ms, good := parseInt(fields[idx[3]])
			switch {
			case !good:
				bad = f.badNumber(no, "timestamp", fields[idx[3]])
			case ms < 0:
				bad = f.badRange(no, "timestamp", fields[idx[3]], "unix milliseconds, not negative")
			default:
				ts, ok = ms/1000, true
			}
		}
		if bad != nil {
			return bad
		}
		if !ok {
			continue
		}
		name, known := tagNames[string(t)]
		if !known {
			f.note("tagID not in tags file (dropped)")
			continue
		}
		if ts < civilYear(lastfmFounded) {
			f.note(fmt.Sprintf("date before %d (kept)", lastfmFounded))
		}
		user, item := d.users.get(u), d.items.get(a)
		if ai, known := artists.index[item]; known {
			tl.genres = append(tl.genres, tagCount{book: ai, name: name, count: 1})
		} else {
			f.note("artistID not in artists file (tag kept, no genre)")
		}
		k := userItem{user, item}
		if old, seen := tl.first[k]; !seen || ts < old {
			tl.first[k] = ts
		}
		if err := f.tag(sink, schema.Tag{
			Domain:    d.in.Domain,
			User:      user,
			Item:      item,
			Tag:       name,
			Timestamp: d.ts.ptr(ts),
			Source:    f.rel,
			Line:      no,
		}); err != nil {
			return err
		}
	}
}

// civilYear is the unix time of 1 January of year y, UTC.
func civilYear(y int) int64 {
	t, _ := civilTime(y, 1, 1, 0, 0, 0)
	return t
}

// lastfmDate parses day, month and year columns into the unix time of that
// day's midnight UTC; the publisher gives no time zone, and UTC keeps the
// result independent of the machine.
func (f *fileCtx) lastfmDate(no int64, day, month, year []byte) (int64, bool, error) {
	dd, ok1 := parseInt(day)
	mm, ok2 := parseInt(month)
	yy, ok3 := parseInt(year)
	switch {
	case !ok1 || !isDigits(day):
		return 0, false, f.badNumber(no, "day", day)
	case !ok2 || !isDigits(month):
		return 0, false, f.badNumber(no, "month", month)
	case !ok3 || !isDigits(year) || len(year) != 4:
		return 0, false, f.bad(no, "year", "not_a_year", fmt.Sprintf("%s is not a 4-digit year", describe(year)))
	}
	ts, ok := civilTime(int(yy), int(mm), int(dd), 0, 0, 0)
	if !ok {
		return 0, false, f.bad(no, "day", "invalid_date", fmt.Sprintf("%d-%02d-%02d is not a date", yy, mm, dd))
	}
	return ts, true, nil
}

func (d *domainCtx) readLastfmUserArtists(f *fileCtx, tl *lastfmTagged, sink Sink) error {
	idx, err := f.header("userID", "artistID", "weight")
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
		u, a, w := fields[idx[0]], fields[idx[1]], fields[idx[2]]
		var bad error
		var plays int64
		switch {
		case !isDigits(u):
			bad = f.badID(no, "userID", u)
		case !isDigits(a):
			bad = f.badID(no, "artistID", a)
		default:
			var ok bool
			plays, ok = parseInt(w)
			switch {
			case !ok:
				bad = f.badNumber(no, "weight", w)
			case plays < 1:
				bad = f.badRange(no, "weight", w, "a play count, at least 1")
			}
		}
		if bad != nil {
			return bad
		}
		if plays < 1 {
			continue
		}
		if !d.isKnown(a) {
			f.note("artistID not in artists file (kept)")
		}
		user, item := d.users.get(u), d.items.get(a)
		var ts *int64
		if t, ok := tl.first[userItem{user, item}]; ok {
			ts = d.ts.ptr(t)
		}
		if err := f.interaction(sink, schema.Interaction{
			Domain:    d.in.Domain,
			User:      user,
			Item:      item,
			Value:     float64(plays),
			Kind:      schema.KindPlaycount,
			Timestamp: ts,
			Source:    f.rel,
			Line:      no,
		}); err != nil {
			return err
		}
	}
}
