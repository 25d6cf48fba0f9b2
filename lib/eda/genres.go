package eda

import (
	"cmp"
	"slices"
	"strings"
)

// GenreFrequencies counts genres over catalogue items and over the
// interactions on those items.
type GenreFrequencies struct {
	// Distinct is the number of distinct genres on catalogue items.
	Distinct int64 `json:"distinct"`
	// ItemsWithGenre is the number of catalogue items with at least one genre.
	ItemsWithGenre int64 `json:"items_with_genre"`
	// ByItems lists the top genres by item count, ByInteractions by
	// interaction count; ties go to the smaller name.
	ByItems        []GenreCount `json:"by_items"`
	ByInteractions []GenreCount `json:"by_interactions"`
}

// GenreCount is a genre, the catalogue items carrying it and the
// interactions on those items.
type GenreCount struct {
	Genre        string `json:"genre"`
	Items        int64  `json:"items"`
	Interactions int64  `json:"interactions"`
}

// genreDict interns a domain's genre names, so each item keeps small
// indices, and counts items per genre as they are added.
type genreDict struct {
	index map[string]int32
	names []string
	items []int64
}

func newGenreDict() genreDict { return genreDict{index: map[string]int32{}} }

// add interns an item's genres and counts the item once for each distinct one.
func (g *genreDict) add(genres []string) []int32 {
	var out []int32
	for _, name := range genres {
		i, ok := g.index[name]
		if !ok {
			i = int32(len(g.names))
			name = strings.Clone(name) // the caller may reuse the buffer behind it
			g.index[name] = i
			g.names = append(g.names, name)
			g.items = append(g.items, 0)
		}
		if slices.Contains(out, i) {
			continue // an item listing a genre twice counts once
		}
		out = append(out, i)
		g.items[i]++
	}
	return out
}

// frequencies totals the interactions per genre from the per-item counts,
// which is why items and interactions may arrive in any order.
func frequencies(g genreDict, items map[string]*itemAgg, pick func(*itemAgg) []int32, top int) GenreFrequencies {
	counts := make([]GenreCount, len(g.names))
	for i, n := range g.names {
		counts[i] = GenreCount{Genre: n, Items: g.items[i]}
	}
	var with int64
	for _, it := range items {
		ids := pick(it)
		if it.catalogue && len(ids) > 0 {
			with++
		}
		for _, i := range ids {
			counts[i].Interactions += it.n
		}
	}
	byItems := slices.Clone(counts)
	slices.SortFunc(byItems, func(a, b GenreCount) int {
		return cmp.Or(cmp.Compare(b.Items, a.Items), cmp.Compare(a.Genre, b.Genre))
	})
	byInter := counts
	slices.SortFunc(byInter, func(a, b GenreCount) int {
		return cmp.Or(cmp.Compare(b.Interactions, a.Interactions), cmp.Compare(a.Genre, b.Genre))
	})
	return GenreFrequencies{
		Distinct:       int64(len(g.names)),
		ItemsWithGenre: with,
		ByItems:        byItems[:min(top, len(byItems))],
		ByInteractions: byInter[:min(top, len(byInter))],
	}
}
