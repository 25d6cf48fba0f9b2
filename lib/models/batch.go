package models

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/tasks"
)

// Set is a padded block of rated items for T tasks: features for the item
// tower, normalised ratings and a mask that is 1 on real entries.
type Set struct {
	Feats *ItemFeats
	R, M  []float32 // [T*N]
}

// NewSet allocates an empty (all padding) set of t tasks by n items.
func (c *Catalog) NewSet(t, n int) *Set {
	return &Set{Feats: c.NewItemFeats(t, n), R: make([]float32, t*n), M: make([]float32, t*n)}
}

// Fill writes task t's rated items, the first N of them, padding the rest.
func (c *Catalog) Fill(s *Set, t int, domain int32, xs []tasks.Rated) error {
	n := s.Feats.N
	for j := range n {
		k := t*n + j
		if j >= len(xs) {
			s.Feats.Clear(t, j)
			s.R[k], s.M[k] = 0, 0
			continue
		}
		row, err := c.Global(domain, xs[j].Item)
		if err != nil {
			return fmt.Errorf("task %d, entry %d: %w", t, j, err)
		}
		c.Set(s.Feats, t, j, row)
		s.R[k], s.M[k] = xs[j].Norm, 1
	}
	return nil
}

// featTensors converts item features to the tensors ItemNodes expects.
func featTensors(f *ItemFeats, g, cr, fw int) []*tensors.Tensor {
	return []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(f.Item, f.T, f.N),
		tensors.FromFlatDataAndDimensions(f.Genre, f.T, f.N, g),
		tensors.FromFlatDataAndDimensions(f.GenreW, f.T, f.N, g),
		tensors.FromFlatDataAndDimensions(f.Creator, f.T, f.N, cr),
		tensors.FromFlatDataAndDimensions(f.CreatorW, f.T, f.N, cr),
		tensors.FromFlatDataAndDimensions(f.Dense, f.T, f.N, fw),
	}
}

// SetInputs is how many graph inputs a Set becomes.
const SetInputs = 8

// Tensors returns the set as graph inputs: the six item-feature tensors,
// then ratings and mask.
func (c *Catalog) Tensors(s *Set) []*tensors.Tensor {
	f := s.Feats
	return append(featTensors(f, c.G, c.C, c.F),
		tensors.FromFlatDataAndDimensions(s.R, f.T, f.N),
		tensors.FromFlatDataAndDimensions(s.M, f.T, f.N))
}

// SetFromNodes is the inverse of Tensors inside a graph: the item nodes
// and the ratings and mask of a set, from SetInputs consecutive inputs.
func SetFromNodes(in []*Node) (ItemNodes, *Node, *Node) {
	return ItemNodes{Item: in[0], Genre: in[1], GenreW: in[2], Creator: in[3], CreatorW: in[4], Dense: in[5]}, in[6], in[7]
}
