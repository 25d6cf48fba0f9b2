package dag

import (
	"fmt"
	"slices"
	"strings"
)

// Graph is the stage graph of a pipeline file: stage B depends on stage A
// when one of B's deps equals, lies inside or contains one of A's outputs
// (outs, metrics or plots), the rule DVC uses to draw its DAG.
type Graph struct {
	file    *File
	byName  map[string]*StageDef
	parents map[string][]string // sorted, without duplicates
	order   []string            // topological, ties broken by name
}

// NewGraph links the stages of f and orders them. A cycle is an error
// naming the stages around it and the paths that link them.
func NewGraph(f *File) (*Graph, error) {
	g := &Graph{file: f, byName: map[string]*StageDef{}, parents: map[string][]string{}}
	for _, s := range f.Stages {
		g.byName[s.Name] = s
	}
	via := map[[2]string]string{} // (parent, child) -> the path that links them
	for _, b := range f.Stages {
		for _, a := range f.Stages {
			for _, o := range a.Outputs() {
				for _, d := range b.Deps {
					if !overlaps(d, o) {
						continue
					}
					key := [2]string{a.Name, b.Name}
					if _, seen := via[key]; !seen {
						via[key] = d
						g.parents[b.Name] = append(g.parents[b.Name], a.Name)
					}
				}
			}
		}
		slices.Sort(g.parents[b.Name])
	}
	if err := g.sort(via); err != nil {
		return nil, err
	}
	return g, nil
}

// sort is Kahn's algorithm taking the smallest ready name first, so the
// order depends only on the graph, never on file or map order.
func (g *Graph) sort(via map[[2]string]string) error {
	indeg := map[string]int{}
	children := map[string][]string{}
	for child, ps := range g.parents {
		indeg[child] = len(ps)
		for _, p := range ps {
			children[p] = append(children[p], child)
		}
	}
	var ready []string
	for name := range g.byName {
		if indeg[name] == 0 {
			ready = append(ready, name)
		}
	}
	slices.Sort(ready)
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		g.order = append(g.order, n)
		for _, c := range children[n] {
			if indeg[c]--; indeg[c] == 0 {
				i, _ := slices.BinarySearch(ready, c)
				ready = slices.Insert(ready, i, c)
			}
		}
	}
	if len(g.order) == len(g.byName) {
		return nil
	}
	return &Problem{File: g.file.Name, Msg: "cycle: " + g.cycle(indeg, via)}
}

// cycle finds one cycle among the stages Kahn's algorithm could not order.
// Each of them still has an unordered parent, so walking to the smallest
// such parent must revisit a stage; the loop found is printed in
// dependency order starting from its smallest name.
func (g *Graph) cycle(indeg map[string]int, via map[[2]string]string) string {
	var start string
	for n, d := range indeg {
		if d > 0 && (start == "" || n < start) {
			start = n
		}
	}
	pos := map[string]int{}
	var walk []string
	for n := start; ; {
		if i, seen := pos[n]; seen {
			walk = walk[i:]
			break
		}
		pos[n] = len(walk)
		walk = append(walk, n)
		i := slices.IndexFunc(g.parents[n], func(p string) bool { return indeg[p] > 0 })
		if i < 0 { // cannot happen: an unordered stage has an unordered parent
			break
		}
		n = g.parents[n][i]
	}
	slices.Reverse(walk) // parents were walked: reverse into dependency order
	m := slices.Index(walk, slices.Min(walk))
	walk = append(walk[m:], walk[:m]...)
	var b strings.Builder
	for i, n := range walk {
		next := walk[(i+1)%len(walk)]
		fmt.Fprintf(&b, "%q -> %q (via %q)", n, next, via[[2]string{n, next}])
		if i < len(walk)-1 {
			b.WriteString(", ")
		}
	}
	return b.String()
}

// Order returns every stage in topological order.
func (g *Graph) Order() []*StageDef {
	out := make([]*StageDef, len(g.order))
	for i, n := range g.order {
		out[i] = g.byName[n]
	}
	return out
}

// Parents returns the names of the stages a stage depends on, sorted.
func (g *Graph) Parents(name string) []string {
	return slices.Clone(g.parents[name])
}

// Plan returns the stages needed to build the targets, ancestors included,
// in topological order. A target is a stage name ("train@maml") or, as in
// `dvc repro`, a group name ("train") meaning all its members. No targets
// means the whole pipeline.
func (g *Graph) Plan(targets ...string) ([]*StageDef, error) {
	if len(targets) == 0 {
		return g.Order(), nil
	}
	need := map[string]bool{}
	var stack []string
	for _, t := range targets {
		var found []string
		if _, ok := g.byName[t]; ok {
			found = []string{t}
		} else {
			for _, s := range g.file.Stages {
				if s.Group == t {
					found = append(found, s.Name)
				}
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no stage or group named %q", g.file.Name, t)
		}
		stack = append(stack, found...)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if need[n] {
			continue
		}
		need[n] = true
		stack = append(stack, g.parents[n]...)
	}
	var out []*StageDef
	for _, n := range g.order {
		if need[n] {
			out = append(out, g.byName[n])
		}
	}
	return out, nil
}
