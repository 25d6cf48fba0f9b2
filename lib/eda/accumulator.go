package eda

import (
	"fmt"
	"math"
	"strings"

	"github.com/crossrec/crossrec/lib/schema"
)

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
