// Package features turns the cleaned catalogue into model inputs: dense
// index maps per domain, genre and creator vocabularies, and fixed-length
// item feature vectors shared by every domain.
//
// The unified item vector, the same length in every domain, is
//
//	[domain index | genre indices (max_genres) | creator indices (max_creators) |
//	 genre multi-hot (multihot_genres) | numeric (5)]
//
// Indices feed embedding tables (0 pads, 1 is "other"); the multi-hot covers
// each domain's most frequent genres; numeric holds scaled popularity and
// metadata figures with presence flags, so a missing figure is not confused
// with an average one.
package features

import (
	"cmp"
	"slices"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
)

// Reserved vocabulary indices.
const (
	PadIndex   = 0
	OtherIndex = 1
)

// NumericNames names the numeric features in order.
var NumericNames = []string{"popularity_z", "ratings_count_z", "has_ratings_count", "avg_rating_norm", "has_avg_rating"}

// Paths names the stage's artifacts.
type Paths struct {
	InItems, InNormItems, InInteractions string
	OutItems, OutVocab, OutUsers, Meta   string
}

// DomainMeta sizes one domain's tables.
type DomainMeta struct {
	Index    int32 `json:"index"`
	Items    int   `json:"items"`
	Users    int   `json:"users"`
	Genres   int   `json:"genre_vocab"`   // including pad and other
	Creators int   `json:"creator_vocab"` // including pad and other
}

// Meta describes the feature layout; the train stage sizes its models from it.
type Meta struct {
	FeatureLen     int                    `json:"feature_len"`
	MaxGenres      int                    `json:"max_genres"`
	MaxCreators    int                    `json:"max_creators"`
	MultiHotGenres int                    `json:"multihot_genres"`
	Numeric        []string               `json:"numeric"`
	Domains        map[string]*DomainMeta `json:"domains"`
}

// vocab is a frequency-ordered vocabulary: index 2 is the most frequent value.
type vocab struct {
	index map[string]int32
	rows  []schema.VocabEntry
}

func buildVocab(domain, kind string, counts map[string]int64, minItems int) vocab {
	type vc struct {
		v string
		n int64
	}
	var all []vc
	for v, n := range counts {
		if n >= int64(max(minItems, 1)) {
			all = append(all, vc{v, n})
		}
	}
	// Most frequent first; ties by value, so the order never depends on map order.
	slices.SortFunc(all, func(a, b vc) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.v, b.v)
	})
	voc := vocab{index: make(map[string]int32, len(all))}
	voc.rows = append(voc.rows,
		schema.VocabEntry{Domain: domain, Kind: kind, Index: PadIndex, Value: "<pad>"},
		schema.VocabEntry{Domain: domain, Kind: kind, Index: OtherIndex, Value: "<other>"})
	for i, e := range all {
		idx := int32(i + 2)
		voc.index[e.v] = idx
		voc.rows = append(voc.rows, schema.VocabEntry{Domain: domain, Kind: kind, Index: idx, Value: e.v, Items: e.n})
	}
	return voc
}

// indices maps values to vocabulary indices, padded or cut to n. Values are
// taken in their published order (most relevant first for tag lists).
func (v vocab) indices(values []string, n int) []int32 {
	out := make([]int32, n)
	for i := 0; i < n && i < len(values); i++ {
		if idx, ok := v.index[values[i]]; ok {
			out[i] = idx
		} else {
			out[i] = OtherIndex
		}
	}
	return out
}

// MultiHot sets position idx-2 for each vocabulary index below n+2: the
// multi-hot covers the n most frequent values.
func MultiHot(idx []int32, n int) []float32 {
	out := make([]float32, n)
	for _, i := range idx {
		if p := int(i) - 2; p >= 0 && p < n {
			out[p] = 1
		}
	}
	return out
}

// FeatureLen is the unified item-vector length for the given params.
func FeatureLen(cfg params.Features) int {
	return 1 + cfg.MaxGenres + cfg.MaxCreators + cfg.MultiHotGenres + len(NumericNames)
}

// Run builds the feature artifacts.
func Run(p Paths, domains []string, cfg params.Features, lineage artifact.Lineage) (*Meta, error) {
	items, _, err := artifact.ReadAll[schema.Item](p.InItems)
	if err != nil {
		return nil, err
	}
	norm, _, err := artifact.ReadAll[schema.NormItem](p.InNormItems)
	if err != nil {
		return nil, err
	}
	meta := &Meta{FeatureLen: FeatureLen(cfg), MaxGenres: cfg.MaxGenres, MaxCreators: cfg.MaxCreators, MultiHotGenres: cfg.MultiHotGenres, Numeric: NumericNames, Domains: map[string]*DomainMeta{}}
	domainIndex := map[string]int32{}
	for i, d := range domains {
		domainIndex[d] = int32(i)
		meta.Domains[d] = &DomainMeta{Index: int32(i)}
	}
	byKey := make(map[[2]string]*schema.Item, len(items))
	genreCounts := map[string]map[string]int64{}
	creatorCounts := map[string]map[string]int64{}
	for i := range items {
		it := &items[i]
		byKey[[2]string{it.Domain, it.Item}] = it
		for _, g := range it.Genres {
			inc(genreCounts, it.Domain, g)
		}
		for _, c := range it.Creators {
			inc(creatorCounts, it.Domain, c)
		}
	}
	genres, creators := map[string]vocab{}, map[string]vocab{}
	var vocabRows []schema.VocabEntry
	for _, d := range domains {
		genres[d] = buildVocab(d, "genre", genreCounts[d], cfg.MinGenreItems)
		creators[d] = buildVocab(d, "creator", creatorCounts[d], cfg.MinCreatorItems)
		vocabRows = append(vocabRows, genres[d].rows...)
		vocabRows = append(vocabRows, creators[d].rows...)
		meta.Domains[d].Genres = len(genres[d].rows)
		meta.Domains[d].Creators = len(creators[d].rows)
	}
	// The catalogue (normalize's item table, sorted by domain and item)
	// fixes the dense item index.
	var feats []schema.ItemFeatures
	next := map[string]int32{}
	for _, n := range norm {
		di, ok := domainIndex[n.Domain]
		if !ok {
			continue // a domain dropped from params since the data was ingested
		}
		f := schema.ItemFeatures{Domain: n.Domain, Item: n.Item, DomainIndex: di, Index: next[n.Domain]}
		next[n.Domain]++
		var g, c []string
		if it := byKey[[2]string{n.Domain, n.Item}]; it != nil {
			g, c = it.Genres, it.Creators
		}
		f.GenreIdx = genres[n.Domain].indices(g, cfg.MaxGenres)
		f.CreatorIdx = creators[n.Domain].indices(c, cfg.MaxCreators)
		f.GenreMultiHot = MultiHot(genres[n.Domain].indices(g, len(g)), cfg.MultiHotGenres)
		f.Numeric = numeric(&n)
		feats = append(feats, f)
	}
	for d, n := range next {
		if dm := meta.Domains[d]; dm != nil {
			dm.Items = int(n)
		}
	}
	users, err := userIndex(p.InInteractions, domainIndex)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		meta.Domains[u.Domain].Users++
	}
	if err := writeAll(p.OutItems, feats, lineage); err != nil {
		return nil, err
	}
	if err := writeAll(p.OutVocab, vocabRows, lineage); err != nil {
		return nil, err
	}
	if err := writeAll(p.OutUsers, users, lineage); err != nil {
		return nil, err
	}
	return meta, artifact.WriteJSON(p.Meta, meta)
}

func numeric(n *schema.NormItem) []float32 {
	v := []float32{float32(n.PopularityZ), 0, 0, 0.5, 0}
	if n.RatingsCountZ != nil {
		v[1], v[2] = float32(*n.RatingsCountZ), 1
	}
	if n.AvgRatingNorm != nil {
		v[3], v[4] = float32(*n.AvgRatingNorm), 1
	}
	return v
}

func inc(m map[string]map[string]int64, d, v string) {
	if m[d] == nil {
		m[d] = map[string]int64{}
	}
	m[d][v]++
}

// userIndex gives every user of each domain a dense index, in sorted user
// order. It streams the interactions; memory is the number of users.
func userIndex(path string, domains map[string]int32) ([]schema.UserIndex, error) {
	seen := map[[2]string]bool{}
	var users []schema.UserIndex
	_, err := artifact.Scan(path, 8192, func(rows []schema.NormInteraction) error {
		for _, x := range rows {
			k := [2]string{x.Domain, x.User}
			if _, ok := domains[x.Domain]; ok && !seen[k] {
				seen[k] = true
				users = append(users, schema.UserIndex{Domain: x.Domain, User: x.User})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(users, func(a, b schema.UserIndex) int {
		if c := cmp.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return cmp.Compare(a.User, b.User)
	})
	next := map[string]int32{}
	for i := range users {
		users[i].Index = next[users[i].Domain]
		next[users[i].Domain]++
	}
	return users, nil
}

func writeAll[T any](path string, rows []T, lineage artifact.Lineage) error {
	w, err := artifact.Create[T](path, lineage)
	if err != nil {
		return err
	}
	defer w.Abort()
	for i := 0; i < len(rows); i += 8192 {
		if err := w.Write(rows[i:min(i+8192, len(rows))]); err != nil {
			return err
		}
	}
	_, err = w.Close()
	return err
}
