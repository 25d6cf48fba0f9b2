//go:build goexperiment.simd && amd64

package adapt

import "simd/archsimd"

// useSIMD: this build has the vector kernel (GOEXPERIMENT=simd, Go's
// experimental simd/archsimd) and the CPU runs it (AVX2 and FMA). Tests
// turn it off to hold the kernel to the scalar loop.
var useSIMD = archsimd.X86.AVX2() && archsimd.X86.FMA()

// scoreSIMD is head.score eight lanes at a time, for a head whose widths
// are multiples of 8 and whose item-side tensors are not adapted (the
// shipped config). Each candidate's hidden layers run across the lanes of
// the layer's outputs; unlike the scalar loop it does not skip the units
// the ReLU zeroes (a branch per unit costs more than the lanes it saves).
// The sums run in another order than the scalar loop's, so scores agree
// with it to float32 rounding, not bit for bit.
func (h *head) scoreSIMD(di *domainItems, cands []int32, pred, rank, act []float32) {
	H1, H2, D, DU := h.h1, h.h2, h.d, h.du
	zero := archsimd.BroadcastFloat32x8(0)
	var lanes [8]float32
	for n, c := range cands {
		i := int(c)
		pre := di.h1[i*H1 : (i+1)*H1]
		for j := 0; j < H1; j += 8 {
			archsimd.LoadFloat32x8Slice(pre[j:]).Add(archsimd.LoadFloat32x8Slice(h.hu[j:])).Max(zero).StoreSlice(act[j:])
		}
		sum := zero
		for k := 0; k < H2; k += 8 {
			a := archsimd.LoadFloat32x8Slice(h.b2[k:])
			for j, v := range act[:H1] {
				a = archsimd.LoadFloat32x8Slice(h.w2[j*H2+k:]).MulAdd(archsimd.BroadcastFloat32x8(v), a)
			}
			sum = a.Max(zero).MulAdd(archsimd.LoadFloat32x8Slice(h.outW[k:]), sum)
		}
		if h.ncf {
			q := di.q[i*DU : (i+1)*DU]
			for k := 0; k < DU; k += 8 {
				sum = archsimd.LoadFloat32x8Slice(q[k:]).MulAdd(archsimd.LoadFloat32x8Slice(h.g[k:]), sum)
			}
		}
		sum.Store(&lanes)
		out := h.c + di.b[i] + hsum(&lanes)
		pred[n] = out
		if rank == nil {
			continue
		}
		if !h.rank {
			rank[n] = out
			continue
		}
		z := di.z[i*D : (i+1)*D]
		t := zero
		for k := 0; k < D; k += 8 {
			t = archsimd.LoadFloat32x8Slice(z[k:]).MulAdd(archsimd.LoadFloat32x8Slice(h.taste[k:]), t)
		}
		t.Store(&lanes)
		rank[n] = di.pop[i] + h.beta*out + hsum(&lanes)
	}
}

// hsum adds eight lanes pairwise.
func hsum(l *[8]float32) float32 {
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}
