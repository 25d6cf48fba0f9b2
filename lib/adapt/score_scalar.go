//go:build !(goexperiment.simd && amd64)

package adapt

// useSIMD is false in a build without GOEXPERIMENT=simd (or off amd64):
// every head is scored by the scalar loop in adapt.go.
var useSIMD = false

// scoreSIMD is never called in this build (useSIMD is false).
func (h *head) scoreSIMD(di *domainItems, cands []int32, pred, rank, act []float32) {
	panic("adapt: the vector kernel is not built in (GOEXPERIMENT=simd on amd64)")
}
