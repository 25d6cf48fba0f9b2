// Package fastgrad replaces GoMLX's gradient rule for DotGeneral with one
// written as two DotGenerals.
//
// GoMLX v0.26's stock rule multiplies the output gradient by the other
// operand broadcast to a full outer product and then reduces it: for the
// batched (per-task) layers of a vectorised MAML step that materialises
// tensors like [tasks, support, in, out] and was over 70% of a
// second-order meta-step's time (../shared/docs/gomlx.md). The rule here
// computes the same vector-Jacobian products as matrix products, which the
// pure-Go backend parallelises, and is itself made of DotGeneral and
// Transpose, so it can be differentiated again (second-order MAML).
//
// GoMLX keeps a DotGeneral node's axes unexported; the rule reads them by
// reflection (reading, never writing), checked by Register so an
// incompatible GoMLX version fails loudly instead of computing garbage.
package fastgrad

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

var (
	once   sync.Once
	regErr error
	stock  graph.VJP
)

// Register installs the rule (once; later calls return the first result).
// It is global to the process, like GoMLX's registry.
func Register() error {
	once.Do(func() {
		t := reflect.TypeOf(graph.Node{})
		f, ok := t.FieldByName("inputs")
		if !ok || f.Type.Kind() != reflect.Interface {
			regErr = fmt.Errorf("fastgrad: graph.Node has no inputs interface field; GoMLX version not supported")
			return
		}
		stock = graph.VJPRegistration[graph.NodeTypeDotGeneral]
		graph.VJPRegistration[graph.NodeTypeDotGeneral] = vjp
	})
	return regErr
}

// Unregister restores GoMLX's own rule (for tests that compare the two).
func Unregister() {
	if stock != nil {
		graph.VJPRegistration[graph.NodeTypeDotGeneral] = stock
	}
	once = sync.Once{}
}

// dotAxes reads a DotGeneral node's axis lists.
func dotAxes(node *graph.Node) (lc, lb, rc, rb []int) {
	in := reflect.ValueOf(node).Elem().FieldByName("inputs").Elem().Elem()
	read := func(name string) []int {
		f := in.FieldByName(name)
		if !f.IsValid() {
			panic(fmt.Sprintf("fastgrad: DotGeneral inputs have no field %s; GoMLX version not supported", name))
		}
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out
	}
	return read("lhsContractingAxes"), read("lhsBatchAxes"), read("rhsContractingAxes"), read("rhsBatchAxes")
}

// cross lists the axes of a rank-n operand that are neither contracted
// nor batch, in order: DotGeneral's output keeps them in that order.
func cross(n int, contracting, batch []int) []int {
	var out []int
	for a := range n {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

func iota(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// operandGrad is the VJP for one operand ("this") of out = DotGeneral(this,
// tc, tb, other, oc, ob) or its mirror. v has out's axes [batch, lhs cross,
// rhs cross]; thisCrossAt/otherCrossAt are where each side's cross axes sit
// in v. Contracting v with other over other's cross axes leaves [batch, this
// cross, other's contracting axes in ascending order], which a transpose
// puts back in this operand's axis order.
func operandGrad(v *graph.Node, thisRank int, tc, tb, thisCross []int, thisCrossAt int,
	other *graph.Node, oc, ob, otherCross []int, otherCrossAt int) *graph.Node {
	nb := len(tb)
	g := graph.DotGeneral(v, iota(otherCrossAt, len(otherCross)), iota(0, nb), other, otherCross, ob)
	perm := make([]int, thisRank)
	for i, a := range tb {
		perm[a] = i
	}
	for j, a := range thisCross {
		perm[a] = nb + j
	}
	rest := slices.Sorted(slices.Values(oc)) // other's remaining axes, ascending
	for k, a := range rest {
		i := slices.Index(oc, a)
		perm[tc[i]] = nb + len(thisCross) + k
	}
	if slices.Equal(perm, iota(0, thisRank)) {
		return g
	}
	return graph.TransposeAllAxes(g, perm...)
}

func vjp(node *graph.Node, vs []*graph.Node, _ shapes.Shape) []*graph.Node {
	v := vs[0]
	lhs, rhs := node.Inputs()[0], node.Inputs()[1]
	lc, lb, rc, rb := dotAxes(node)
	lx := cross(lhs.Rank(), lc, lb)
	rx := cross(rhs.Rank(), rc, rb)
	nb := len(lb)
	gl := operandGrad(v, lhs.Rank(), lc, lb, lx, nb, rhs, rc, rb, rx, nb+len(lx))
	gr := operandGrad(v, rhs.Rank(), rc, rb, rx, nb+len(lx), lhs, lc, lb, lx, nb)
	return []*graph.Node{gl, gr}
}
