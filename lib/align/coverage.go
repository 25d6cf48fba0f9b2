package align

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/crossrec/crossrec/lib/schema"
)

// TopUnmapped is how many unmapped source genres a Coverage lists.
const TopUnmapped = 20

// Coverage says how much of one domain the mapping reaches. Shares are 0
// when their denominator is 0 (an empty domain), never NaN.
type Coverage struct {
	Domain string `json:"domain"`
	Kind   string `json:"kind"`
	// Items is the number of distinct catalogue items; ItemsCovered of them
	// have at least one universal genre. ItemShare = ItemsCovered / Items.
	Items        int64   `json:"items"`
	ItemsCovered int64   `json:"items_covered"`
	ItemShare    float64 `json:"item_share"`
	// Interactions is the number of interactions in the domain;
	// InteractionsCovered of them are on covered items. Interactions on items
	// missing from the catalogue (InteractionsUnknownItem) count as uncovered.
	Interactions            int64   `json:"interactions"`
	InteractionsCovered     int64   `json:"interactions_covered"`
	InteractionShare        float64 `json:"interaction_share"`
	InteractionsUnknownItem int64   `json:"interactions_unknown_item"`
	// Unmapped lists the most frequent source genres (normal form) that map
	// to nothing, by the number of AddItem calls naming them, for reviewers
	// extending the table.
	Unmapped []GenreCount `json:"unmapped"`
}

// GenreCount is a genre and how many items carry it.
type GenreCount struct {
	Genre string `json:"genre"`
	Items int64  `json:"items"`
}

// CoverageAccumulator measures coverage per domain from a stream of items
// and interactions, in any order: it keeps one entry per item and per
// distinct unmapped genre, nothing per interaction.
type CoverageAccumulator struct {
	m       *Mapping
	domains map[string]*coverDomain
}

type coverDomain struct {
	kind     string
	items    map[string]*coverItem
	unmapped map[string]int64
}

type coverItem struct {
	catalogue    bool
	covered      bool
	interactions int64
}

// NewCoverage starts a coverage measurement with this mapping.
func (m *Mapping) NewCoverage() *CoverageAccumulator {
	return &CoverageAccumulator{m: m, domains: map[string]*coverDomain{}}
}

func (c *CoverageAccumulator) domain(name string) *coverDomain {
	d := c.domains[name]
	if d == nil {
		d = &coverDomain{items: map[string]*coverItem{}, unmapped: map[string]int64{}}
		c.domains[name] = d
	}
	return d
}

func (d *coverDomain) item(id string) *coverItem {
	it := d.items[id]
	if it == nil {
		it = &coverItem{}
		d.items[id] = it
	}
	return it
}

// AddItem adds a catalogue item of a domain whose kind (movies, books,
// music) selects the table rows. Adding the same item again adds its genres:
// an item is covered if any of its genres maps. A domain has one kind.
func (c *CoverageAccumulator) AddItem(kind string, it *schema.Item) error {
	d := c.domain(it.Domain)
	if d.kind == "" {
		d.kind = kind
	} else if d.kind != kind {
		return fmt.Errorf("align: coverage: domain %s: item %s has kind %q, earlier items %q", it.Domain, it.Item, kind, d.kind)
	}
	ci := d.item(it.Item)
	ci.catalogue = true
	for _, g := range it.Genres {
		n := Normalize(g)
		if _, ok := c.m.index[key{kind, n}]; ok {
			ci.covered = true
		} else if n != "" {
			d.unmapped[n]++
		}
	}
	return nil
}

// AddInteraction counts one interaction on its item.
func (c *CoverageAccumulator) AddInteraction(x *schema.Interaction) {
	c.domain(x.Domain).item(x.Item).interactions++
}

// Result returns the coverage of every domain seen, sorted by domain name.
func (c *CoverageAccumulator) Result() []Coverage {
	names := make([]string, 0, len(c.domains))
	for n := range c.domains {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]Coverage, 0, len(names))
	for _, n := range names {
		d := c.domains[n]
		cv := Coverage{Domain: n, Kind: d.kind, Unmapped: []GenreCount{}}
		for _, it := range d.items {
			cv.Interactions += it.interactions
			if !it.catalogue {
				cv.InteractionsUnknownItem += it.interactions
				continue
			}
			cv.Items++
			if it.covered {
				cv.ItemsCovered++
				cv.InteractionsCovered += it.interactions
			}
		}
		cv.ItemShare = share(cv.ItemsCovered, cv.Items)
		cv.InteractionShare = share(cv.InteractionsCovered, cv.Interactions)
		for g, k := range d.unmapped {
			cv.Unmapped = append(cv.Unmapped, GenreCount{Genre: g, Items: k})
		}
		slices.SortFunc(cv.Unmapped, func(a, b GenreCount) int {
			return cmp.Or(cmp.Compare(b.Items, a.Items), cmp.Compare(a.Genre, b.Genre))
		})
		if len(cv.Unmapped) > TopUnmapped {
			cv.Unmapped = cv.Unmapped[:TopUnmapped]
		}
		out = append(out, cv)
	}
	return out
}

func share(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}
