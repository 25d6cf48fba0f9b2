// Package gnn is LightGCN (He, Deng, Wang, Li, Zhang and Wang, "LightGCN:
// Simplifying and Powering Graph Convolution Network for Recommendation",
// SIGIR 2020): embeddings of users and items smoothed over the bipartite
// graph of the meta-train users' interactions by L parameter-free
// propagations, averaged over layers, scored by dot product, trained with
// the BPR loss.
//
// One graph per group of domains whose users are the same people (the
// Douban pair shares its user ids; every other domain is a group of its
// own), so a user's edges in one domain reach the other's catalogue. A new
// user is inductive: added to the trained graph by their support edges and
// embedded by LightGCN's own propagation from the trained items' layer
// embeddings, with no ID row and no retraining.
//
// The propagation is a sparse product with the normalised adjacency; in
// GoMLX's pure-Go backend its gathers and scatters took 2.7 s per layer
// (forward and backward, 200,000 edges, width 64) against tens of
// milliseconds in plain Go, so training runs in plain Go with the exact
// adjoint (the normalised adjacency is symmetric, so the gradient of the
// propagation is the propagation of the gradient), and a test holds it to
// a GoMLX graph of the same forward pass and to finite differences.
package gnn

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/crossrec/crossrec/lib/baselines"
)

// Graph is one group's bipartite graph: nodes are the group's users
// (0..Users-1) then its domains' items (Users+ItemOffset[d]+item).
type Graph struct {
	Domains    []int // domain indices of the group
	ItemOffset []int // per group domain: the first item node's index minus Users
	Items      []int // per group domain: catalogue size
	Users      int
	UserIDs    []string
	Nodes      int
	// CSR adjacency over all nodes (both directions), with the symmetric
	// normalisation 1/sqrt(deg(a) deg(b)) as the edge weight.
	Start  []int
	Nbr    []int32
	Weight []float32
	Degree []int32
	// Edges lists each (user node, item node) once, for the BPR batches.
	EdgeUser, EdgeItem []int32
	// Positive is each user's set of item nodes, for negative sampling.
	Positive []map[int32]bool
}

// ItemNode is the node index of item it of group domain g.
func (gr *Graph) ItemNode(g int, it int32) int32 { return int32(gr.Users + gr.ItemOffset[g] + int(it)) }

// Groups partitions the training data's domains: two domains are one group
// when a user id has rows in both.
func Groups(t *baselines.Train) [][]int {
	nd := len(t.Items)
	parent := make([]int, nd)
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			x = parent[x]
		}
		return x
	}
	seen := map[string]int{}
	for d := range nd {
		for _, id := range t.UserID[d] {
			if o, ok := seen[id]; ok {
				if a, b := find(o), find(d); a != b {
					parent[max(a, b)] = min(a, b)
				}
			} else {
				seen[id] = d
			}
		}
	}
	var out [][]int
	index := map[int]int{}
	for d := range nd {
		r := find(d)
		i, ok := index[r]
		if !ok {
			i = len(out)
			index[r] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], d)
	}
	return out
}

// NewGraph builds the graph of a group of domains from the training rows
// (duplicated (user, item) rows count once).
func NewGraph(t *baselines.Train, domains []int) *Graph {
	gr := &Graph{Domains: slices.Clone(domains)}
	users := map[string]int32{}
	off := 0
	for _, d := range domains {
		gr.ItemOffset = append(gr.ItemOffset, off)
		gr.Items = append(gr.Items, t.Items[d])
		off += t.Items[d]
		for _, id := range t.UserID[d] {
			if _, ok := users[id]; !ok {
				users[id] = int32(len(gr.UserIDs))
				gr.UserIDs = append(gr.UserIDs, id)
			}
		}
	}
	gr.Users = len(gr.UserIDs)
	gr.Nodes = gr.Users + off
	gr.Positive = make([]map[int32]bool, gr.Users)
	for u := range gr.Positive {
		gr.Positive[u] = map[int32]bool{}
	}
	for g, d := range domains {
		for r, u := range t.Users[d] {
			un := users[t.UserID[d][u]]
			in := gr.ItemNode(g, t.ItemOf[d][r])
			if !gr.Positive[un][in] {
				gr.Positive[un][in] = true
				gr.EdgeUser = append(gr.EdgeUser, un)
				gr.EdgeItem = append(gr.EdgeItem, in)
			}
		}
	}
	gr.Degree = make([]int32, gr.Nodes)
	for e := range gr.EdgeUser {
		gr.Degree[gr.EdgeUser[e]]++
		gr.Degree[gr.EdgeItem[e]]++
	}
	gr.Start = make([]int, gr.Nodes+1)
	for n, deg := range gr.Degree {
		gr.Start[n+1] = gr.Start[n] + int(deg)
	}
	gr.Nbr = make([]int32, gr.Start[gr.Nodes])
	gr.Weight = make([]float32, len(gr.Nbr))
	fill := slices.Clone(gr.Start[:gr.Nodes])
	add := func(a, b int32) {
		gr.Nbr[fill[a]] = b
		gr.Weight[fill[a]] = float32(1 / math.Sqrt(float64(gr.Degree[a])*float64(gr.Degree[b])))
		fill[a]++
	}
	for e := range gr.EdgeUser {
		add(gr.EdgeUser[e], gr.EdgeItem[e])
		add(gr.EdgeItem[e], gr.EdgeUser[e])
	}
	return gr
}

// propagate writes Â·x into out (both [Nodes, dim] row-major), rows in
// parallel: each row is its own sum, so the result does not depend on the
// number of workers.
func (gr *Graph) propagate(x, out []float32, dim int) {
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	chunk := (gr.Nodes + workers - 1) / workers
	for w := range workers {
		lo, hi := w*chunk, min(gr.Nodes, (w+1)*chunk)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := lo; n < hi; n++ {
				row := out[n*dim:][:dim]
				clear(row)
				for e := gr.Start[n]; e < gr.Start[n+1]; e++ {
					wt := gr.Weight[e]
					src := x[int(gr.Nbr[e])*dim:][:dim]
					for j, v := range src {
						row[j] += wt * v
					}
				}
			}
		}()
	}
	wg.Wait()
}

// smooth returns LightGCN's layer combination (1/(L+1)) Σ_k Â^k x and,
// when layers is not nil, stores Â^k x for k = 0..L-1 in it. By the
// symmetry of Â the same map is its own adjoint: the gradient with
// respect to x of a loss with gradient g at the output is smooth(g).
func (gr *Graph) smooth(x []float32, dim, l int, layers [][]float32) []float32 {
	acc := slices.Clone(x)
	cur := x
	if layers != nil {
		copy(layers[0], x)
	}
	next := make([]float32, len(x))
	spare := make([]float32, len(x))
	for k := 1; k <= l; k++ {
		gr.propagate(cur, next, dim)
		for i, v := range next {
			acc[i] += v
		}
		if layers != nil && k < l {
			copy(layers[k], next)
		}
		if k == 1 {
			cur, next = next, spare
		} else {
			cur, next = next, cur
		}
	}
	s := float32(1) / float32(l+1)
	for i := range acc {
		acc[i] *= s
	}
	return acc
}

func (gr *Graph) check() error {
	if gr.Users == 0 || len(gr.EdgeUser) == 0 {
		return fmt.Errorf("no training users: LightGCN has no graph to propagate over")
	}
	return nil
}
