package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Heatmap draws values[r][c] as a grid of shaded cells, rows top to
// bottom, each non-zero cell labelled with its value printed by format
// (e.g. "%.1f"; "" prints nothing), so empty cells stay quiet. Shades run from
// white at 0 (or the smallest value, if negative) to dark blue at the
// largest; NaN cells are left blank.
func Heatmap(title string, rows, cols []string, values [][]float64, format string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	if len(values) != len(rows) {
		return nil, fmt.Errorf("plots: %d rows of values for %d row names", len(values), len(rows))
	}
	lo, hi := 0.0, math.Inf(-1)
	for r, vs := range values {
		if len(vs) != len(cols) {
			return nil, fmt.Errorf("plots: row %q has %d values for %d columns", rows[r], len(vs), len(cols))
		}
		for _, v := range vs {
			if valid(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if len(rows) == 0 || len(cols) == 0 || math.IsInf(hi, -1) {
		return noData(p, ""), nil
	}
	p.Add(&heat{values: values, lo: lo, hi: hi, format: format})
	p.NominalX(cols...)
	names := make([]string, len(rows))
	for r := range rows {
		names[len(rows)-1-r] = rows[r]
	}
	p.NominalY(names...)
	p.X.Padding, p.Y.Padding = 0, 0
	return p, nil
}

type heat struct {
	values [][]float64
	lo, hi float64
	format string
}

// shade maps t in [0, 1] from near-white to dark blue.
func shade(t float64) color.Color {
	t = math.Max(0, math.Min(1, t))
	from, to := [3]float64{0xf7, 0xfb, 0xff}, [3]float64{0x08, 0x30, 0x6b}
	var c [3]uint8
	for i := range c {
		c[i] = uint8(math.Round(from[i] + t*(to[i]-from[i])))
	}
	return color.RGBA{c[0], c[1], c[2], 255}
}

func (h *heat) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := len(h.values)
	sty := text.Style{Color: color.Black, Font: p.X.Tick.Label.Font, Handler: p.X.Tick.Label.Handler,
		XAlign: draw.XCenter, YAlign: draw.YCenter}
	sty.Font.Size = vg.Points(7)
	for r, vs := range h.values {
		y := float64(n - 1 - r)
		for k, v := range vs {
			if !valid(v) {
				continue
			}
			t := 0.0
			if h.hi > h.lo {
				t = (v - h.lo) / (h.hi - h.lo)
			}
			x := float64(k)
			pts := []vg.Point{{X: trX(x - 0.5), Y: trY(y - 0.5)}, {X: trX(x + 0.5), Y: trY(y - 0.5)},
				{X: trX(x + 0.5), Y: trY(y + 0.5)}, {X: trX(x - 0.5), Y: trY(y + 0.5)}}
			c.FillPolygon(shade(t), c.ClipPolygonXY(pts))
			if h.format != "" && v != 0 {
				s := sty
				if t > 0.55 {
					s.Color = color.White
				}
				c.FillText(s, vg.Point{X: trX(x), Y: trY(y)}, fmt.Sprintf(h.format, v))
			}
		}
	}
}

func (h *heat) DataRange() (xmin, xmax, ymin, ymax float64) {
	cols := 0
	if len(h.values) > 0 {
		cols = len(h.values[0])
	}
	return -0.5, float64(cols) - 0.5, -0.5, float64(len(h.values)) - 0.5
}
