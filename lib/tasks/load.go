package tasks

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/crossrec/crossrec/lib/artifact"
)

// Rated is one (item, value) pair of a support, query or history set.
type Rated struct {
	Item int32   // dense item index within the domain
	Norm float32 // normalised value (what models predict)
	Raw  float32 // value as published (stars, plays)
	Cold bool    // no meta-train user interacted with the item
}

// Episode is one task as models and evaluation use it.
type Episode struct {
	Domain      string
	DomainIndex int32
	User        string
	Group       string
	Support     []Rated // for held-out users: the first max(curve_ks); take a prefix for smaller K
	Query       []Rated
	// Cross-domain files only: the user's history in the source domain.
	SourceDomainIndex int32
	Source            []Rated
}

// LoadEpisodes reads a task file (train/valid/test.arrow or a cross-domain
// file), verifying its content hash.
func LoadEpisodes(path string) ([]Episode, artifact.Lineage, error) {
	rec, l, err := artifact.ReadArrow(path)
	if err != nil {
		return nil, l, err
	}
	defer rec.Release()
	col := func(name string) (arrow.Array, error) {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("%s: no column %q", path, name)
		}
		return rec.Column(idx[0]), nil
	}
	var cols = map[string]arrow.Array{}
	names := []string{"domain", "domain_index", "user", "group"}
	sets := []string{"support", "query"}
	cross := len(rec.Schema().FieldIndices("source_items")) == 1
	if cross {
		names = append(names, "source_domain_index")
		sets = append(sets, "source")
	}
	for _, s := range sets {
		names = append(names, s+"_items", s+"_norm", s+"_value", s+"_item_cold")
	}
	for _, n := range names {
		c, err := col(n)
		if err != nil {
			return nil, l, err
		}
		cols[n] = c
	}
	n := int(rec.NumRows())
	out := make([]Episode, n)
	for i := 0; i < n; i++ {
		e := &out[i]
		e.Domain = cols["domain"].(*array.String).Value(i)
		e.DomainIndex = cols["domain_index"].(*array.Int32).Value(i)
		e.User = cols["user"].(*array.String).Value(i)
		e.Group = cols["group"].(*array.String).Value(i)
		e.Support = readSet(cols, "support", i)
		e.Query = readSet(cols, "query", i)
		if cross {
			e.SourceDomainIndex = cols["source_domain_index"].(*array.Int32).Value(i)
			e.Source = readSet(cols, "source", i)
		}
	}
	return out, l, nil
}

func readSet(cols map[string]arrow.Array, prefix string, row int) []Rated {
	items := cols[prefix+"_items"].(*array.List)
	norm := cols[prefix+"_norm"].(*array.List)
	val := cols[prefix+"_value"].(*array.List)
	cold := cols[prefix+"_item_cold"].(*array.List)
	start, end := items.ValueOffsets(row)
	iv := items.ListValues().(*array.Int32)
	nv := norm.ListValues().(*array.Float32)
	vv := val.ListValues().(*array.Float32)
	cv := cold.ListValues().(*array.Boolean)
	out := make([]Rated, 0, end-start)
	for j := int(start); j < int(end); j++ {
		out = append(out, Rated{Item: iv.Value(j), Norm: nv.Value(j), Raw: vv.Value(j), Cold: cv.Value(j)})
	}
	return out
}

// ItemTable is items.arrow in memory: per domain, row i is the item with
// dense index i, and each feature is a row-major matrix ready for a tensor.
type ItemTable struct {
	Domains []ItemDomain // by domain index
	// Widths of the per-item feature vectors (equal in every domain).
	Genres, Creators, MultiHot, Numeric, Universal int
}

// ItemDomain is one domain's catalogue.
type ItemDomain struct {
	Name       string
	IDs        []string  // source item id by index
	GenreIdx   []int32   // [items x Genres]
	CreatorIdx []int32   // [items x Creators]
	MultiHot   []float32 // [items x MultiHot]
	Numeric    []float32 // [items x Numeric]
	Universal  []float32 // [items x Universal]
}

// LoadItems reads items.arrow, verifying its content hash.
func LoadItems(path string) (*ItemTable, artifact.Lineage, error) {
	rec, l, err := artifact.ReadArrow(path)
	if err != nil {
		return nil, l, err
	}
	defer rec.Release()
	get := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
	dom := get("domain").(*array.String)
	ids := get("item").(*array.String)
	di := get("domain_index").(*array.Int32)
	idx := get("index").(*array.Int32)
	fixed := func(name string) (*array.FixedSizeList, int) {
		a := get(name).(*array.FixedSizeList)
		return a, int(a.DataType().(*arrow.FixedSizeListType).Len())
	}
	g, gw := fixed("genre_idx")
	c, cw := fixed("creator_idx")
	m, mw := fixed("genre_multihot")
	nu, nw := fixed("numeric")
	u, uw := fixed("universal")
	t := &ItemTable{Genres: gw, Creators: cw, MultiHot: mw, Numeric: nw, Universal: uw}
	gv := g.ListValues().(*array.Int32).Int32Values()
	cv := c.ListValues().(*array.Int32).Int32Values()
	mv := m.ListValues().(*array.Float32).Float32Values()
	nv := nu.ListValues().(*array.Float32).Float32Values()
	uv := u.ListValues().(*array.Float32).Float32Values()
	for r := 0; r < int(rec.NumRows()); r++ {
		d := int(di.Value(r))
		for len(t.Domains) <= d {
			t.Domains = append(t.Domains, ItemDomain{})
		}
		D := &t.Domains[d]
		if int(idx.Value(r)) != len(D.IDs) {
			return nil, l, fmt.Errorf("%s: row %d: item index %d out of order (want %d)", path, r, idx.Value(r), len(D.IDs))
		}
		D.Name = dom.Value(r)
		D.IDs = append(D.IDs, ids.Value(r))
		D.GenreIdx = append(D.GenreIdx, gv[r*gw:(r+1)*gw]...)
		D.CreatorIdx = append(D.CreatorIdx, cv[r*cw:(r+1)*cw]...)
		D.MultiHot = append(D.MultiHot, mv[r*mw:(r+1)*mw]...)
		D.Numeric = append(D.Numeric, nv[r*nw:(r+1)*nw]...)
		D.Universal = append(D.Universal, uv[r*uw:(r+1)*uw]...)
	}
	return t, l, nil
}
