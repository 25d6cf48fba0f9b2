package meta

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func tensorOf(v []float32, dims []int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]float32(nil), v...), dims...)
}

func download(ts []*tensors.Tensor) [][]float32 {
	out := make([][]float32, len(ts))
	for i, t := range ts {
		out[i] = tensors.MustCopyFlatData[float32](t)
	}
	return out
}

// bar is a one-line progress bar on a terminal-ish writer (stderr): steps
// done, rate, time left and the last loss, redrawn at most twice a second.
type bar struct {
	w          io.Writer
	total, at0 int
	start      time.Time
	last       time.Time
}

func newBar(w io.Writer, total, at int) *bar {
	return &bar{w: w, total: total, at0: at, start: time.Now()}
}

func (b *bar) update(step int, loss float64) {
	if b.w == nil || (time.Since(b.last) < 500*time.Millisecond && step < b.total) {
		return
	}
	b.last = time.Now()
	el := time.Since(b.start).Seconds()
	rate := float64(step-b.at0) / max(el, 1e-9)
	left := float64(b.total-step) / max(rate, 1e-9)
	const width = 30
	fill := width * step / max(b.total, 1)
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d  %.1f steps/s  eta %s  loss %.4f ",
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), step, b.total, rate,
		(time.Duration(left) * time.Second).Round(time.Second), loss)
}

func (b *bar) done() {
	if b.w != nil {
		fmt.Fprintln(b.w)
	}
}
