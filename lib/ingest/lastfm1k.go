package ingest

import (
	"bytes"
	"cmp"
	"io"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/schema"
)

// ReadLastfm1K reads the Last.fm 1K users dump
// (userid-timestamp-artid-artname-traid-traname.tsv): one play per line,
// "userid \t ISO-8601 time \t artist MBID \t artist name \t track MBID \t
// track name", no header. MBIDs may be empty.
//
// Plays are aggregated to (user, artist) play counts, Kind playcount, with
// the last play's time as Timestamp (and its line as Line). An artist's item
// id is its MBID, or "name:"+name when the MBID is empty, so artists without
// an MBID are still told apart. Items are titled with the artist's most
// frequent name (ties: the smallest), since one MBID appears under several
// spellings. Memory is proportional to distinct (user, artist) pairs, not to
// plays; rows are emitted sorted (items by id, interactions by user then
// item) so the output does not depend on map order.
func ReadLastfm1K(in Input, sink Sink, rep *Report) error {
	return run(in, FormatLastfm1K, rep, func(d *domainCtx) error {
		return d.withFile("plays", modeTab, func(f *fileCtx) error { return d.readLastfm1KPlays(f, sink) })
	})
}

// playAgg is one (user, artist) pair's plays so far.
type playAgg struct {
	count int64
	last  int64 // unix seconds of the latest play
	line  int64 // line of that play
}

func (d *domainCtx) readLastfm1KPlays(f *fileCtx, sink Sink) error {
	f.ncols = 6
	byName := newInterner("name:")
	pairs := map[userItem]playAgg{}
	type itemName struct{ item, name string }
	names := map[itemName]int64{}
	for {
		fields, no, err := f.row()
		if err == io.EOF {
			break
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
		u, tsb, mbid, name := bytes.TrimSpace(fields[0]), fields[1], bytes.TrimSpace(fields[2]), bytes.TrimSpace(fields[3])
		var bad error
		var ts int64
		ok := false
		switch {
		case len(u) == 0:
			bad = f.bad(no, "userid", "empty", "empty id")
		case len(mbid) == 0 && len(name) == 0:
			bad = f.bad(no, "artname", "empty", "no artist id and no artist name")
		default:
			if ts, ok = parseISOTime(tsb); !ok {
				bad = f.bad(no, "timestamp", "not_a_time", describe(tsb)+" is not an ISO-8601 time")
			}
		}
		if bad != nil {
			return bad
		}
		if !ok {
			continue
		}
		var item string
		if len(mbid) > 0 {
			item = d.items.get(mbid)
		} else {
			item = byName.get(name)
		}
		if len(name) > 0 {
			names[itemName{item, d.text.get(name)}]++
		} else {
			names[itemName{item, ""}] += 0 // an item without a name still exists
		}
		k := userItem{d.users.get(u), item}
		a := pairs[k]
		a.count++
		if a.count == 1 || ts > a.last {
			a.last, a.line = ts, no
		}
		pairs[k] = a
	}

	// Items: the most frequent name of each id.
	type best struct {
		name  string
		count int64
	}
	titles := map[string]best{}
	for k, n := range names {
		b, seen := titles[k.item]
		if !seen || n > b.count || (n == b.count && k.name < b.name) {
			titles[k.item] = best{k.name, n}
		}
	}
	for _, id := range sortedKeys(titles) {
		t := titles[id].name
		var creators []string
		if t != "" {
			creators = []string{t}
		}
		if err := f.item(sink, schema.Item{Domain: d.in.Domain, Item: id, Title: t, Creators: creators, Source: f.rel}, 0); err != nil {
			return err
		}
	}

	keys := make([]userItem, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y userItem) int {
		return cmp.Or(strings.Compare(x.user, y.user), strings.Compare(x.item, y.item))
	})
	for _, k := range keys {
		a := pairs[k]
		if err := f.interaction(sink, schema.Interaction{
			Domain:    d.in.Domain,
			User:      k.user,
			Item:      k.item,
			Value:     float64(a.count),
			Kind:      schema.KindPlaycount,
			Timestamp: d.ts.ptr(a.last),
			Source:    f.rel,
			Line:      a.line,
		}); err != nil {
			return err
		}
	}
	return nil
}
