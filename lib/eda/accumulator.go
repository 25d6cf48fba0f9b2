package eda

import (
	"fmt"
	"math"
	"strings"

	"github.com/crossrec/crossrec/lib/schema"
)

// Options are the EDA knobs (params.yaml's eda section). Zero values take
// the defaults.
type Options struct {
	// TopShare is the share of most active users / most popular items whose
	// share of interactions is reported (default 0.2).
	TopShare float64 `json:"top_share"`
	// CoverShare is the share of interactions whose fewest carrying users /
	// items are counted (default 0.8).
	CoverShare float64 `json:"cover_share"`
	// TopGenres is how many genres each frequency list keeps (default 20).
	TopGenres int `json:"top_genres"`
	// Pairs are the domain pairs whose shared users' preferences are correlated.
	Pairs []Pair `json:"pairs"`
}

// Pair names two domains whose users overlap (the Douban book/music pair).
type Pair struct {
	A string `json:"a"`
	B string `json:"b"`
}

func (o Options) withDefaults() (Options, error) {
	if o.TopShare == 0 {
		o.TopShare = 0.2
	}
	if o.CoverShare == 0 {
		o.CoverShare = 0.8
	}
	if o.TopGenres == 0 {
		o.TopGenres = 20
	}
	if !(o.TopShare > 0 && o.TopShare <= 1) {
		return o, fmt.Errorf("eda: top_share %v outside (0, 1]", o.TopShare)
	}
	if !(o.CoverShare > 0 && o.CoverShare <= 1) {
		return o, fmt.Errorf("eda: cover_share %v outside (0, 1]", o.CoverShare)
	}
	if o.TopGenres < 0 {
		return o, fmt.Errorf("eda: top_genres %d is negative", o.TopGenres)
	}
	for _, p := range o.Pairs {
		if p.A == "" || p.B == "" || p.A == p.B {
			return o, fmt.Errorf("eda: correlation pair %q/%q: want two different domains", p.A, p.B)
		}
	}
	if o.Pairs == nil {
		o.Pairs = []Pair{}
	}
	return o, nil
}

// Accumulator gathers the EDA statistics of a stream of items and
// interactions. It is not safe for concurrent use.
type Accumulator struct {
	opts    Options
	domains map[string]*domain
}

type domain struct {
	kind         string // schema.KindRating or KindPlaycount; "" before the first interaction
	interactions int64
	values       histogram // ratings or play counts
	users        map[string]*userAgg
	items        map[string]*itemAgg
	source       genreDict
	universal    genreDict
}

type userAgg struct {
	n   int64
	sum float64 // sum of values; exact for half-star ratings and integer play counts
}

type itemAgg struct {
	n         int64 // interactions
	catalogue bool
	source    []int32 // genre indices into domain.source
	universal []int32
}

// New starts an accumulation.
func New(opts Options) (*Accumulator, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Accumulator{opts: o, domains: map[string]*domain{}}, nil
}

func (a *Accumulator) domain(name string) *domain {
	d := a.domains[name]
	if d == nil {
		d = &domain{values: histogram{}, users: map[string]*userAgg{}, items: map[string]*itemAgg{},
			source: newGenreDict(), universal: newGenreDict()}
		a.domains[name] = d
	}
	return d
}

// item returns the item's record, creating it. New keys are cloned: a
// reader may hand out strings that alias a buffer it reuses.
func (d *domain) item(id string) *itemAgg {
	it := d.items[id]
	if it == nil {
		it = &itemAgg{}
		d.items[strings.Clone(id)] = it
	}
	return it
}

// AddItem adds a catalogue item with its source genres (it.Genres, as
// published) and its universal genres (from align). An item may be added
// once per domain; a second add is an error (the catalogue has duplicates).
func (a *Accumulator) AddItem(it *schema.Item, universal []string) error {
	if it.Domain == "" || it.Item == "" {
		return fmt.Errorf("eda: %s: item with empty domain or id", it.Source)
	}
	d := a.domain(it.Domain)
	rec := d.item(it.Item)
	if rec.catalogue {
		return fmt.Errorf("eda: %s: domain %s: item %s added twice", it.Source, it.Domain, it.Item)
	}
	rec.catalogue = true
	rec.source = d.source.add(it.Genres)
	rec.universal = d.universal.add(universal)
	return nil
}

// AddInteraction adds one interaction. It rejects, naming the source file
// and line: empty ids, a non-finite value, a negative play count, an unknown
// kind, and a kind different from the domain's earlier interactions.
func (a *Accumulator) AddInteraction(x *schema.Interaction) error {
	if x.Domain == "" || x.User == "" || x.Item == "" {
		return fmt.Errorf("%s:%d: eda: interaction with empty domain, user or item", x.Source, x.Line)
	}
	if math.IsNaN(x.Value) || math.IsInf(x.Value, 0) {
		return fmt.Errorf("%s:%d: eda: value %v is not a finite number", x.Source, x.Line, x.Value)
	}
	switch x.Kind {
	case schema.KindRating:
	case schema.KindPlaycount:
		if x.Value < 0 {
			return fmt.Errorf("%s:%d: eda: negative play count %v", x.Source, x.Line, x.Value)
		}
	default:
		return fmt.Errorf("%s:%d: eda: unknown kind %q", x.Source, x.Line, x.Kind)
	}
	d := a.domain(x.Domain)
	if d.kind == "" {
		d.kind = x.Kind
	} else if d.kind != x.Kind {
		return fmt.Errorf("%s:%d: eda: domain %s: kind %q after %q", x.Source, x.Line, x.Domain, x.Kind, d.kind)
	}
	d.interactions++
	d.values[x.Value]++
	u := d.users[x.User]
	if u == nil {
		u = &userAgg{}
		d.users[strings.Clone(x.User)] = u
	}
	u.n++
	u.sum += x.Value
	d.item(x.Item).n++
	return nil
}
