package models

import (
	"fmt"

	"github.com/crossrec/crossrec/lib/tasks"
)

// Catalog lays every domain's items, genres and creators out in global
// tables, one row per (domain, local index), so one graph serves tasks of
// all domains at once: an item's global row is ItemOff[domain]+index. The
// per-item features it gathers on the host are what the item tower reads.
type Catalog struct {
	Domains    []string
	Items      []int // items per domain
	ItemOff    []int32
	GenreOff   []int32
	CreatorOff []int32
	Genres     []int // genre vocabulary per domain (max index + 1; 0 pads)
	Creators   []int // creator vocabulary per domain
	NItems     int
	NGenres    int
	NCreators  int
	G, C, F    int // genre and creator slots per item, dense feature width

	genre, creator   []int32   // global indices [NItems*G], [NItems*C]
	genreW, creatorW []float32 // 1/count of the item's non-pad slots, 0 on pads
	dense            []float32 // universal genre vector ++ numeric features [NItems*F]
}

// Shape is the part of a catalogue a trained model's tables depend on;
// a model can only score a catalogue with the same shape.
type Shape struct {
	Domains  []string `json:"domains"`
	Items    []int    `json:"items"`
	Genres   []int    `json:"genres"`
	Creators []int    `json:"creators"`
	G        int      `json:"genre_slots"`
	C        int      `json:"creator_slots"`
	F        int      `json:"dense_features"`
}

// Shape returns the catalogue's shape.
func (c *Catalog) Shape() Shape {
	return Shape{Domains: c.Domains, Items: c.Items, Genres: c.Genres, Creators: c.Creators, G: c.G, C: c.C, F: c.F}
}

// Check reports how s differs from the catalogue's own shape.
func (c *Catalog) Check(s Shape) error {
	h := c.Shape()
	if len(s.Domains) != len(h.Domains) {
		return fmt.Errorf("model has %d domains, items table %d", len(s.Domains), len(h.Domains))
	}
	for d := range s.Domains {
		if s.Domains[d] != h.Domains[d] || s.Items[d] != h.Items[d] || s.Genres[d] < h.Genres[d] || s.Creators[d] < h.Creators[d] {
			return fmt.Errorf("domain %d: model (%s, %d items, %d genres, %d creators) does not fit the items table (%s, %d items, %d genres, %d creators)",
				d, s.Domains[d], s.Items[d], s.Genres[d], s.Creators[d], h.Domains[d], h.Items[d], h.Genres[d], h.Creators[d])
		}
	}
	if s.G != h.G || s.C != h.C || s.F != h.F {
		return fmt.Errorf("feature widths differ: model %d/%d/%d, items table %d/%d/%d", s.G, s.C, s.F, h.G, h.C, h.F)
	}
	return nil
}

// NewCatalog lays out items. With a shape (from a saved model), vocabulary
// sizes are taken from it so the global offsets match the model's tables.
func NewCatalog(items *tasks.ItemTable, shape *Shape) (*Catalog, error) {
	if items == nil || len(items.Domains) == 0 {
		return nil, fmt.Errorf("catalog: empty items table")
	}
	c := &Catalog{G: items.Genres, C: items.Creators, F: items.Universal + items.Numeric}
	for d, D := range items.Domains {
		n := len(D.IDs)
		g, cr := 1, 1
		for _, v := range D.GenreIdx {
			if v < 0 {
				return nil, fmt.Errorf("catalog: domain %s: negative genre index", D.Name)
			}
			g = max(g, int(v)+1)
		}
		for _, v := range D.CreatorIdx {
			if v < 0 {
				return nil, fmt.Errorf("catalog: domain %s: negative creator index", D.Name)
			}
			cr = max(cr, int(v)+1)
		}
		if shape != nil && d < len(shape.Genres) {
			g, cr = max(g, shape.Genres[d]), max(cr, shape.Creators[d])
		}
		c.Domains = append(c.Domains, D.Name)
		c.Items = append(c.Items, n)
		c.Genres = append(c.Genres, g)
		c.Creators = append(c.Creators, cr)
		c.ItemOff = append(c.ItemOff, int32(c.NItems))
		c.GenreOff = append(c.GenreOff, int32(c.NGenres))
		c.CreatorOff = append(c.CreatorOff, int32(c.NCreators))
		c.NItems += n
		c.NGenres += g
		c.NCreators += cr
	}
	if shape != nil {
		if err := c.Check(*shape); err != nil {
			return nil, err
		}
	}
	c.genre = make([]int32, c.NItems*c.G)
	c.genreW = make([]float32, c.NItems*c.G)
	c.creator = make([]int32, c.NItems*c.C)
	c.creatorW = make([]float32, c.NItems*c.C)
	c.dense = make([]float32, c.NItems*c.F)
	for d, D := range items.Domains {
		for i := range D.IDs {
			row := int(c.ItemOff[d]) + i
			slots(D.GenreIdx[i*c.G:(i+1)*c.G], c.GenreOff[d], c.genre[row*c.G:], c.genreW[row*c.G:])
			slots(D.CreatorIdx[i*c.C:(i+1)*c.C], c.CreatorOff[d], c.creator[row*c.C:], c.creatorW[row*c.C:])
			copy(c.dense[row*c.F:], D.Universal[i*items.Universal:(i+1)*items.Universal])
			copy(c.dense[row*c.F+items.Universal:], D.Numeric[i*items.Numeric:(i+1)*items.Numeric])
		}
	}
	return c, nil
}

// slots maps local indices to global rows and weights each non-pad slot by
// 1/count, so the item tower averages the embeddings of the genres an item
// has and ignores padding.
func slots(local []int32, off int32, idx []int32, w []float32) {
	n := 0
	for _, v := range local {
		if v != 0 {
			n++
		}
	}
	for k, v := range local {
		idx[k] = off + v
		if v != 0 {
			w[k] = 1 / float32(n)
		}
	}
}

// Global returns an item's global row, checking the index.
func (c *Catalog) Global(domain, item int32) (int32, error) {
	if domain < 0 || int(domain) >= len(c.Items) {
		return 0, fmt.Errorf("domain index %d out of range [0,%d)", domain, len(c.Items))
	}
	if item < 0 || int(item) >= c.Items[domain] {
		return 0, fmt.Errorf("item index %d out of range for domain %s (%d items)", item, c.Domains[domain], c.Items[domain])
	}
	return c.ItemOff[domain] + item, nil
}

// ItemFeats holds item-tower inputs for a [T, N] block of items, row-major.
// Padding slots point at item 0 with zero weights; masks elsewhere keep
// them out of every loss.
type ItemFeats struct {
	T, N             int
	Item             []int32   // [T*N] global item rows
	Genre, Creator   []int32   // [T*N*G], [T*N*C]
	GenreW, CreatorW []float32 // same shapes
	Dense            []float32 // [T*N*F]
	g, c, f          int
}

// NewItemFeats allocates a zeroed block.
func (c *Catalog) NewItemFeats(t, n int) *ItemFeats {
	return &ItemFeats{T: t, N: n, g: c.G, c: c.C, f: c.F,
		Item: make([]int32, t*n), Genre: make([]int32, t*n*c.G), Creator: make([]int32, t*n*c.C),
		GenreW: make([]float32, t*n*c.G), CreatorW: make([]float32, t*n*c.C), Dense: make([]float32, t*n*c.F)}
}

// Set fills slot (t, n) with global item row.
func (c *Catalog) Set(b *ItemFeats, t, n int, row int32) {
	s := t*b.N + n
	b.Item[s] = row
	copy(b.Genre[s*c.G:(s+1)*c.G], c.genre[int(row)*c.G:])
	copy(b.GenreW[s*c.G:(s+1)*c.G], c.genreW[int(row)*c.G:])
	copy(b.Creator[s*c.C:(s+1)*c.C], c.creator[int(row)*c.C:])
	copy(b.CreatorW[s*c.C:(s+1)*c.C], c.creatorW[int(row)*c.C:])
	copy(b.Dense[s*c.F:(s+1)*c.F], c.dense[int(row)*c.F:])
}

// Clear resets slot (t, n) to padding.
func (b *ItemFeats) Clear(t, n int) {
	s := t*b.N + n
	b.Item[s] = 0
	clear(b.Genre[s*b.g : (s+1)*b.g])
	clear(b.GenreW[s*b.g : (s+1)*b.g])
	clear(b.Creator[s*b.c : (s+1)*b.c])
	clear(b.CreatorW[s*b.c : (s+1)*b.c])
	clear(b.Dense[s*b.f : (s+1)*b.f])
}
