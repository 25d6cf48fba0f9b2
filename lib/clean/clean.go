// Package clean removes duplicates, fixes inconsistent formats and drops
// unusable rows from the ingested tables, counting every change by reason in
// a report that DVC tracks as a metric.
//
// Duplicate rule: rows with the same (domain, user, item) are one
// interaction. "latest" keeps the row with the latest timestamp (rows without
// a timestamp count as oldest; among equals the later row in the file wins,
// since publishers append), "first" keeps the first row in file order, "sum"
// keeps the first row with the values added (play counts split over rows).
//
// Memory is bounded by the number of distinct users and items plus 16 bytes
// per interaction for the duplicate search; the rows themselves are streamed
// twice from the ingest artifact and never held.
package clean

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
)

// Paths names the stage's input and output artifacts.
type Paths struct {
	InInteractions, InItems, InTags    string
	OutInteractions, OutItems, OutTags string
}

// Plausible timestamps: before 1990 or from 2030 on, a timestamp is a
// placeholder or an error (Last.fm tag dates include such years).
var (
	minPlausibleTime int64 = 631152000  // 1990-01-01T00:00:00Z
	maxPlausibleTime int64 = 1893456000 // 2030-01-01T00:00:00Z
)

const batchRows = 8192

// Run cleans the ingested artifacts.
func Run(p Paths, cfg params.Clean, lineage artifact.Lineage) (*Report, error) {
	rep := &Report{DuplicateRule: cfg.Duplicates}
	itemKeys, err := cleanItems(p, lineage, rep)
	if err != nil {
		return nil, err
	}
	if err := cleanInteractions(p, cfg, lineage, rep, itemKeys); err != nil {
		return nil, err
	}
	if err := cleanTags(p, lineage, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func key(domain, id string) string { return domain + "\x00" + id }

// cleanItems normalises the catalogue and returns the set of (domain, item)
// keys that have metadata.
func cleanItems(p Paths, lineage artifact.Lineage, rep *Report) (map[string]bool, error) {
	items, _, err := artifact.ReadAll[schema.Item](p.InItems)
	if err != nil {
		return nil, err
	}
	w, err := artifact.Create[schema.Item](p.OutItems, lineage)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	seen := make(map[string]bool, len(items))
	out := make([]schema.Item, 0, batchRows)
	for _, it := range items {
		dr := rep.domain(it.Domain).Items
		dr.In++
		fix := func(r string) { dr.Fixed[r]++ }
		it.Item = Text(it.Item, fix)
		if it.Item == "" {
			dr.Dropped[DropMissingID]++
			continue
		}
		k := key(it.Domain, it.Item)
		if seen[k] {
			dr.Dropped[DropDuplicateItem]++
			continue
		}
		seen[k] = true
		it.Title = Text(it.Title, fix)
		if it.Title == "" {
			dr.Notes[NoteMissingTitle]++
		}
		it.Genres = Genres(it.Genres, fix)
		it.Creators = Creators(it.Creators, fix)
		if it.AvgRating != nil && (math.IsNaN(*it.AvgRating) || math.IsInf(*it.AvgRating, 0)) {
			it.AvgRating = nil
			dr.Fixed[DropNonFinite]++
		}
		dr.Out++
		out = append(out, it)
		if len(out) == cap(out) {
			if err := w.Write(out); err != nil {
				return nil, err
			}
			out = out[:0]
		}
	}
	if err := w.Write(out); err != nil {
		return nil, err
	}
	if _, err := w.Close(); err != nil {
		return nil, err
	}
	return seen, nil
}

// interner gives dense int32 ids to strings, so the duplicate search holds
// numbers, not strings.
type interner map[string]int32

func (m interner) id(s string) int32 {
	if v, ok := m[s]; ok {
		return v
	}
	v := int32(len(m))
	m[s] = v
	return v
}

// pairRow is one valid interaction in the duplicate search.
type pairRow struct {
	pair uint64 // user id << 32 | item id
	row  int32
}

// dropReason checks one interaction; "" means it is usable.
func dropReason(x *schema.Interaction) string {
	switch {
	case x.User == "" || x.Item == "":
		return DropMissingID
	case math.IsNaN(x.Value) || math.IsInf(x.Value, 0):
		return DropNonFinite
	}
	switch x.Kind {
	case schema.KindRating:
		if x.Value <= 0 {
			return DropZeroRating
		}
	case schema.KindPlaycount:
		if x.Value <= 0 {
			return DropZeroPlaycount
		}
	default:
		return DropUnknownKind
	}
	return ""
}

func trimIDs(x *schema.Interaction, fix func(string)) {
	if t := strings.TrimSpace(x.User); t != x.User {
		x.User = t
		fix(FixWhitespace)
	}
	if t := strings.TrimSpace(x.Item); t != x.Item {
		x.Item = t
		fix(FixWhitespace)
	}
}

// Row states after the duplicate search and activity filters.
const (
	rowDropped uint8 = iota // invalid or a duplicate
	rowKept
	rowUserBelowMin
	rowItemBelowMin
)

func cleanInteractions(p Paths, cfg params.Clean, lineage artifact.Lineage, rep *Report, itemKeys map[string]bool) error {
	users, items := interner{}, interner{}
	var pairs []pairRow
	var times []int64    // per row, for "latest"; math.MinInt64 when unknown
	var values []float64 // per row, for "sum"
	row := int32(0)
	noFix := func(string) {}
	// Pass 1: validate, intern, remember what the duplicate rule needs.
	_, err := artifact.Scan(p.InInteractions, batchRows, func(rows []schema.Interaction) error {
		for i := range rows {
			x := &rows[i]
			trimIDs(x, noFix)
			if cfg.Duplicates == "latest" {
				ts := int64(math.MinInt64)
				if x.Timestamp != nil {
					ts = *x.Timestamp
				}
				times = append(times, ts)
			}
			if cfg.Duplicates == "sum" {
				values = append(values, x.Value)
			}
			if dropReason(x) == "" {
				u, it := users.id(key(x.Domain, x.User)), items.id(key(x.Domain, x.Item))
				pairs = append(pairs, pairRow{pair: uint64(u)<<32 | uint64(uint32(it)), row: row})
			}
			if row == math.MaxInt32 {
				return fmt.Errorf("%s: more than 2^31 rows", p.InInteractions)
			}
			row++
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Duplicate search: sort by (pair, row), pick one row per pair, and
	// compact the winners to the front of pairs.
	slices.SortFunc(pairs, func(a, b pairRow) int {
		if c := cmp.Compare(a.pair, b.pair); c != 0 {
			return c
		}
		return cmp.Compare(a.row, b.row)
	})
	summed := map[int32]float64{}
	winners := 0
	for i := 0; i < len(pairs); {
		j := i + 1
		for j < len(pairs) && pairs[j].pair == pairs[i].pair {
			j++
		}
		win := pairs[i].row
		switch cfg.Duplicates {
		case "latest":
			for _, pr := range pairs[i+1 : j] {
				if times[pr.row] >= times[win] { // later file row wins ties
					win = pr.row
				}
			}
		case "sum":
			if j-i > 1 {
				s := 0.0
				for _, pr := range pairs[i:j] {
					s += values[pr.row]
				}
				summed[win] = s
			}
		}
		pairs[winners] = pairRow{pair: pairs[i].pair, row: win}
		winners++
		i = j
	}
	pairs = pairs[:winners]
	times, values = nil, nil
	// Minimum activity filters, counted once over the winners (not iterated
	// to a k-core: one pass is what the params promise).
	userCount := make([]int32, len(users))
	itemCount := make([]int32, len(items))
	for _, pr := range pairs {
		userCount[pr.pair>>32]++
		itemCount[uint32(pr.pair)]++
	}
	state := make([]uint8, row)
	for _, pr := range pairs {
		switch {
		case int(userCount[pr.pair>>32]) < cfg.MinUserInteractions:
			state[pr.row] = rowUserBelowMin
		case int(itemCount[uint32(pr.pair)]) < cfg.MinItemInteractions:
			state[pr.row] = rowItemBelowMin
		default:
			state[pr.row] = rowKept
		}
	}
	pairs = nil
	hasMeta := map[string]bool{}
	for k := range itemKeys {
		hasMeta[k[:strings.IndexByte(k, 0)]] = true
	}
	// Pass 2: write the kept rows with their fixes.
	w, err := artifact.Create[schema.Interaction](p.OutInteractions, lineage)
	if err != nil {
		return err
	}
	defer w.Abort()
	out := make([]schema.Interaction, 0, batchRows)
	row = 0
	_, err = artifact.Scan(p.InInteractions, batchRows, func(rows []schema.Interaction) error {
		for i := range rows {
			x := rows[i]
			r := row
			row++
			dr := rep.domain(x.Domain).Interactions
			dr.In++
			fix := func(reason string) { dr.Fixed[reason]++ }
			trimIDs(&x, fix)
			if reason := dropReason(&x); reason != "" {
				dr.Dropped[reason]++
				continue
			}
			switch state[r] {
			case rowDropped:
				dr.Dropped[DropDuplicate]++
				continue
			case rowUserBelowMin:
				dr.Dropped[DropUserBelowMin]++
				continue
			case rowItemBelowMin:
				dr.Dropped[DropItemBelowMin]++
				continue
			}
			if s, ok := summed[r]; ok {
				x.Value = s
			}
			if x.Timestamp != nil && (*x.Timestamp < minPlausibleTime || *x.Timestamp >= maxPlausibleTime) {
				x.Timestamp = nil
				fix(FixImplausibleTime)
			}
			if hasMeta[x.Domain] && !itemKeys[key(x.Domain, x.Item)] {
				dr.Notes[NoteNoMetadata]++
			}
			dr.Out++
			out = append(out, x)
			if len(out) == cap(out) {
				if err := w.Write(out); err != nil {
					return err
				}
				out = out[:0]
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := w.Write(out); err != nil {
		return err
	}
	_, err = w.Close()
	return err
}

// cleanTags normalises tag text and drops empty and repeated tag
// applications.
func cleanTags(p Paths, lineage artifact.Lineage, rep *Report) error {
	w, err := artifact.Create[schema.Tag](p.OutTags, lineage)
	if err != nil {
		return err
	}
	defer w.Abort()
	seen := map[string]bool{}
	out := make([]schema.Tag, 0, batchRows)
	_, err = artifact.Scan(p.InTags, batchRows, func(rows []schema.Tag) error {
		for _, t := range rows {
			dr := rep.domain(t.Domain).Tags
			dr.In++
			fix := func(reason string) { dr.Fixed[reason]++ }
			t.User, t.Item = strings.TrimSpace(t.User), strings.TrimSpace(t.Item)
			g := Genres([]string{t.Tag}, fix)
			if t.User == "" || t.Item == "" || len(g) == 0 {
				dr.Dropped[DropMissingID]++
				continue
			}
			t.Tag = g[0]
			k := t.Domain + "\x00" + t.User + "\x00" + t.Item + "\x00" + t.Tag
			if seen[k] {
				dr.Dropped[DropDuplicate]++
				continue
			}
			seen[k] = true
			if t.Timestamp != nil && (*t.Timestamp < minPlausibleTime || *t.Timestamp >= maxPlausibleTime) {
				t.Timestamp = nil
				fix(FixImplausibleTime)
			}
			dr.Out++
			out = append(out, t)
			if len(out) == cap(out) {
				if err := w.Write(out); err != nil {
					return err
				}
				out = out[:0]
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := w.Write(out); err != nil {
		return err
	}
	_, err = w.Close()
	return err
}
