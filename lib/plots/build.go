package plots

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func init() {
	// Sans-serif reads better at notebook sizes than gonum's serif default.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	plotter.DefaultFont = plot.DefaultFont
}

// Series is one named line, bar series or point set. Err, when set, holds
// the half-width of an error bar at each point (a standard deviation over
// seeds, say). NaN values are left out. Color overrides the series' place
// in the palette, so one model keeps its colour across plots.
type Series struct {
	Name  string
	X, Y  []float64
	Err   []float64
	Color color.Color
}

// palette20 is Tableau's 10-colour palette followed by its lighter
// companions: 20 colours a reader can tell apart.
var palette20 = []color.RGBA{
	{0x1f, 0x77, 0xb4, 255}, {0xff, 0x7f, 0x0e, 255}, {0x2c, 0xa0, 0x2c, 255}, {0xd6, 0x27, 0x28, 255},
	{0x94, 0x67, 0xbd, 255}, {0x8c, 0x56, 0x4b, 255}, {0xe3, 0x77, 0xc2, 255}, {0x7f, 0x7f, 0x7f, 255},
	{0xbc, 0xbd, 0x22, 255}, {0x17, 0xbe, 0xcf, 255}, {0xae, 0xc7, 0xe8, 255}, {0xff, 0xbb, 0x78, 255},
	{0x98, 0xdf, 0x8a, 255}, {0xff, 0x98, 0x96, 255}, {0xc5, 0xb0, 0xd5, 255}, {0xc4, 0x9c, 0x94, 255},
	{0xf7, 0xb6, 0xd2, 255}, {0xc7, 0xc7, 0xc7, 255}, {0xdb, 0xdb, 0x8d, 255}, {0x9e, 0xda, 0xe5, 255},
}

// Color is the i-th colour of the palette (cycling after 20).
func Color(i int) color.Color { return palette20[((i%20)+20)%20] }

// Colors assigns each name the palette colour of its position, for
// Series.Color: pass the same names everywhere and a name keeps its colour.
func Colors(names []string) map[string]color.Color {
	m := make(map[string]color.Color, len(names))
	for i, n := range names {
		m[n] = Color(i)
	}
	return m
}

func (s Series) color(i int) color.Color {
	if s.Color != nil {
		return s.Color
	}
	return Color(i)
}

func valid(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	return p
}

// headroom raises the top of the y axis so that a legend of n entries in
// the upper right corner sits above the data instead of over it: about one
// tenth of the data range per entry, as a plot of default height fits ten
// legend lines in its upper half.
func headroom(p *plot.Plot, n int) {
	if n == 0 || !p.Legend.Top {
		return
	}
	lo, hi := p.Y.Min, p.Y.Max // Add has grown them to the data
	if !(hi > lo) {
		return
	}
	p.Y.Max = hi + (hi-lo)*min(0.1*float64(n+1), 1)
}

// noData marks a plot that has nothing to draw.
func noData(p *plot.Plot, why string) *plot.Plot {
	if why == "" {
		why = "no data"
	}
	p.Title.Text += " (" + why + ")"
	return p
}

// Bars draws one vertical bar per label.
func Bars(title, ylabel string, labels []string, values []float64) (*plot.Plot, error) {
	return GroupedBars(title, ylabel, labels, []Series{{Y: values}})
}

// HBars draws one horizontal bar per label, the first label on top: the
// shape for ranked lists such as genre frequencies.
func HBars(title, xlabel string, labels []string, values []float64) (*plot.Plot, error) {
	p := newPlot(title, xlabel, "")
	if len(values) == 0 {
		return noData(p, ""), nil
	}
	if len(labels) != len(values) {
		return nil, fmt.Errorf("plots: %d labels for %d values", len(labels), len(values))
	}
	n := len(values)
	vs := make(plotter.Values, n)
	names := make([]string, n)
	for i := range values { // reversed: the first value at the top
		vs[n-1-i] = values[i]
		if !valid(values[i]) {
			vs[n-1-i] = 0
		}
		names[n-1-i] = labels[i]
	}
	bars, err := plotter.NewBarChart(vs, vg.Points(min(14, 220/float64(n))))
	if err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	bars.Horizontal = true
	bars.Color = Color(0)
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalY(names...)
	p.X.Min = 0
	return p, nil
}

// GroupedBars draws, for each group (a domain, say), one bar per series
// (a model) with its error bar. series[s].Y[g] is the height of series s
// in group g; NaN leaves a gap.
func GroupedBars(title, ylabel string, groups []string, series []Series) (*plot.Plot, error) {
	p := newPlot(title, "", ylabel)
	some := false
	for _, s := range series {
		if len(s.Y) != len(groups) {
			return nil, fmt.Errorf("plots: series %q has %d values for %d groups", s.Name, len(s.Y), len(groups))
		}
		if s.Err != nil && len(s.Err) != len(groups) {
			return nil, fmt.Errorf("plots: series %q has %d errors for %d groups", s.Name, len(s.Err), len(groups))
		}
		for _, v := range s.Y {
			some = some || valid(v)
		}
	}
	if !some {
		return noData(p, ""), nil
	}
	gb := &groupedBars{groups: len(groups), series: series}
	p.Add(gb)
	named := 0
	for i, s := range series {
		if s.Name != "" {
			p.Legend.Add(s.Name, swatch{s.color(i)})
			named++
		}
	}
	p.NominalX(groups...)
	headroom(p, named)
	return p, nil
}

// groupedBars is a plot.Plotter: bar s of group g is centred at
// g + (s - (n-1)/2) * w with w = 0.8/n, in data units, so the error bars sit
// on the bars whatever the plot's size.
type groupedBars struct {
	groups int
	series []Series
}

func (b *groupedBars) width() float64 { return 0.8 / float64(max(1, len(b.series))) }

func (b *groupedBars) x(g, s int) float64 {
	return float64(g) + (float64(s)-float64(len(b.series)-1)/2)*b.width()
}

func (b *groupedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	w := b.width()
	for s, ser := range b.series {
		clr := ser.color(s)
		for g, v := range ser.Y {
			if !valid(v) {
				continue
			}
			x := b.x(g, s)
			x0, x1 := trX(x-w/2), trX(x+w/2)
			y0, y1 := trY(math.Max(0, p.Y.Min)), trY(v)
			pts := c.ClipPolygonXY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			c.FillPolygon(clr, pts)
			if ser.Err != nil && valid(ser.Err[g]) && ser.Err[g] > 0 {
				ls := draw.LineStyle{Color: color.Black, Width: vg.Points(0.8)}
				e := ser.Err[g]
				xm, half := trX(x), (x1-x0)/4
				c.StrokeLine2(ls, xm, trY(v-e), xm, trY(v+e))
				c.StrokeLine2(ls, xm-half, trY(v-e), xm+half, trY(v-e))
				c.StrokeLine2(ls, xm-half, trY(v+e), xm+half, trY(v+e))
			}
		}
	}
}

func (b *groupedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = -0.5, float64(b.groups)-0.5
	ymin, ymax = 0, 0
	for _, s := range b.series {
		for g, v := range s.Y {
			if !valid(v) {
				continue
			}
			lo, hi := v, v
			if s.Err != nil && valid(s.Err[g]) {
				lo, hi = v-s.Err[g], v+s.Err[g]
			}
			ymin, ymax = math.Min(ymin, lo), math.Max(ymax, hi)
		}
	}
	return xmin, xmax, ymin, ymax * 1.05
}

// swatch is a legend entry: a filled square.
type swatch struct{ color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(s.Color, c.ClipPolygonY(pts))
}

// points returns a series' valid points and their errors.
func (s Series) points() (plotter.XYs, plotter.YErrors) {
	var xy plotter.XYs
	var errs plotter.YErrors
	for i := range s.Y {
		x, y := float64(i), s.Y[i]
		if s.X != nil {
			if i >= len(s.X) {
				break
			}
			x = s.X[i]
		}
		if !valid(x) || !valid(y) {
			continue
		}
		xy = append(xy, plotter.XY{X: x, Y: y})
		e := 0.0
		if s.Err != nil && i < len(s.Err) && valid(s.Err[i]) {
			e = s.Err[i]
		}
		errs = append(errs, struct{ Low, High float64 }{e, e})
	}
	return xy, errs
}

type errXYs struct {
	plotter.XYs
	plotter.YErrors
}

// Lines draws each series as a line with markers and, where Err is set,
// error bars: the shape for curves over a support size K.
func Lines(title, xlabel, ylabel string, series []Series) (*plot.Plot, error) {
	return lines(newPlot(title, xlabel, ylabel), series, false)
}

// LogLog draws each series on logarithmic x and y axes, leaving out
// non-positive values: the shape for long-tailed distributions.
//
// The data are drawn as log10 values on linear axes whose ticks are
// labelled with the powers of ten, rather than on gonum's LogScale, which
// reserves room for the axis labels as if the axis were linear and so
// squeezes the plot.
func LogLog(title, xlabel, ylabel string, series []Series) (*plot.Plot, error) {
	p := newPlot(title, xlabel, ylabel)
	p.X.Tick.Marker, p.Y.Tick.Marker = logTicks{}, logTicks{}
	p.Legend.Top, p.Legend.Left = false, true // long tails fall to the right: the lower left is free
	logged := make([]Series, len(series))
	for i, s := range series {
		logged[i] = Series{Name: s.Name, Color: s.color(i)}
		for j, y := range s.Y {
			x := float64(j)
			if s.X != nil {
				if j >= len(s.X) {
					break
				}
				x = s.X[j]
			}
			if valid(x) && valid(y) && x > 0 && y > 0 {
				logged[i].X = append(logged[i].X, math.Log10(x))
				logged[i].Y = append(logged[i].Y, math.Log10(y))
			}
		}
	}
	return lines(p, logged, true)
}

// logTicks marks an axis that carries log10 values: each integer is a
// power of ten, labelled as such (1e-05, 10, 1000), and log10(2..9) above
// it are minor ticks.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		for m := 1; m <= 9; m++ {
			v := e + math.Log10(float64(m))
			if v < lo-1e-9 || v > hi+1e-9 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 {
				t.Label = strconv.FormatFloat(math.Pow10(int(e)), 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

func lines(p *plot.Plot, series []Series, logAxes bool) (*plot.Plot, error) {
	drawn, named := 0, 0
	for i, s := range series {
		xy, errs := s.points()
		if len(xy) == 0 {
			continue
		}
		drawn++
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, fmt.Errorf("plots: series %q: %w", s.Name, err)
		}
		clr := s.color(i)
		l.Color, pts.Color = clr, clr
		l.Width = vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(2.2)
		p.Add(l, pts)
		if s.Err != nil {
			eb, err := plotter.NewYErrorBars(errXYs{xy, errs})
			if err != nil {
				return nil, fmt.Errorf("plots: series %q: %w", s.Name, err)
			}
			eb.Color = clr
			p.Add(eb)
		}
		if s.Name != "" {
			p.Legend.Add(s.Name, l, pts)
			named++
		}
	}
	if drawn == 0 {
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.DefaultTicks{}, plot.DefaultTicks{}
		return noData(p, ""), nil
	}
	if !logAxes {
		headroom(p, named)
		dataTicks(p, series)
	}
	return p, nil
}

// dataTicks puts the x ticks on the data's x values when there are few of
// them (support sizes 1, 3, 5, 10, 20), which reads better than round numbers.
func dataTicks(p *plot.Plot, series []Series) {
	var xs []float64
	for _, s := range series {
		for _, x := range s.X {
			if valid(x) && !slices.Contains(xs, x) {
				xs = append(xs, x)
			}
		}
	}
	if len(xs) < 2 || len(xs) > 12 {
		return
	}
	slices.Sort(xs)
	ticks := make(plot.ConstantTicks, len(xs))
	for i, x := range xs {
		ticks[i] = plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', -1, 64)}
	}
	p.X.Tick.Marker = ticks
}

// Scatter draws the points (x[i], y[i]) and, with fit, the least-squares
// line through them. NaN pairs are left out.
func Scatter(title, xlabel, ylabel string, x, y []float64, fit bool) (*plot.Plot, error) {
	p := newPlot(title, xlabel, ylabel)
	if len(x) != len(y) {
		return nil, fmt.Errorf("plots: %d x values for %d y values", len(x), len(y))
	}
	var xy plotter.XYs
	for i := range x {
		if valid(x[i]) && valid(y[i]) {
			xy = append(xy, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	if len(xy) == 0 {
		return noData(p, ""), nil
	}
	sc, err := plotter.NewScatter(xy)
	if err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	c := palette20[0]
	c.A = 90
	sc.Color = c
	sc.Shape = draw.CircleGlyph{}
	sc.Radius = vg.Points(2)
	p.Add(sc)
	if a, b, ok := leastSquares(xy); fit && ok {
		xmin, xmax, _, _ := plotter.XYRange(xy)
		f := plotter.NewFunction(func(x float64) float64 { return a + b*x })
		f.XMin, f.XMax = xmin, xmax
		f.Color = palette20[3]
		f.Width = vg.Points(1.5)
		p.Add(f)
		p.Legend.Add(fmt.Sprintf("least squares: y = %.2f + %.2f x", a, b), f)
		p.Legend.Top = false
	}
	return p, nil
}

// leastSquares fits y = a + b x; ok is false when x is constant.
func leastSquares(xy plotter.XYs) (a, b float64, ok bool) {
	var mx, my float64
	for _, p := range xy {
		mx += p.X
		my += p.Y
	}
	n := float64(len(xy))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, p := range xy {
		sxy += (p.X - mx) * (p.Y - my)
		sxx += (p.X - mx) * (p.X - mx)
	}
	if sxx == 0 {
		return 0, 0, false
	}
	b = sxy / sxx
	return my - b*mx, b, true
}

// Boxes draws one box plot per name (median, quartiles, whiskers at 1.5
// IQR, outliers as points): the shape for per-user metric distributions.
func Boxes(title, ylabel string, names []string, values [][]float64) (*plot.Plot, error) {
	p := newPlot(title, "", ylabel)
	if len(names) != len(values) {
		return nil, fmt.Errorf("plots: %d names for %d value sets", len(names), len(values))
	}
	drawn := 0
	for i, vs := range values {
		var clean plotter.Values
		for _, v := range vs {
			if valid(v) {
				clean = append(clean, v)
			}
		}
		if len(clean) == 0 {
			continue
		}
		b, err := plotter.NewBoxPlot(vg.Points(min(40, 300/float64(len(values)))), float64(i), clean)
		if err != nil {
			return nil, fmt.Errorf("plots: %s: %w", names[i], err)
		}
		b.FillColor = Color(i)
		p.Add(b)
		drawn++
	}
	p.NominalX(names...)
	if drawn == 0 {
		return noData(p, ""), nil
	}
	return p, nil
}

// Note is an empty plot whose title says why there is nothing to draw, for
// a figure whose data is absent.
func Note(title, why string) *plot.Plot { return noData(newPlot(title, "", ""), why) }

// RefLine adds a dashed horizontal reference line at y across the plot
// (a ratio of 1, a chance level), named in the legend unless label is "".
func RefLine(p *plot.Plot, y float64, label string) {
	f := plotter.NewFunction(func(float64) float64 { return y })
	f.Color = color.Gray{Y: 90}
	f.Width = vg.Points(1)
	f.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(f)
	if label != "" {
		p.Legend.Add(label, f)
	}
	if y > p.Y.Max {
		p.Y.Max = y
	}
	if y < p.Y.Min {
		p.Y.Min = y
	}
}
