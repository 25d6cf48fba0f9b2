package plots

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// Set PLOTS_OUT=dir to keep the rendered test figures (SVG and PNG) for a look.
func render(t *testing.T, name string, p *plot.Plot) []byte {
	t.Helper()
	svg, err := SVG(p, Width, Height)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("%s: not an SVG document: %.80q", name, svg)
	}
	if dir := os.Getenv("PLOTS_OUT"); dir != "" {
		os.WriteFile(filepath.Join(dir, name+".svg"), svg, 0o644)
		if err := p.Save(Width, Height, filepath.Join(dir, name+".png")); err != nil {
			t.Errorf("%s: png: %v", name, err)
		}
	}
	return svg
}

func TestBuildersRender(t *testing.T) {
	nan := math.NaN()
	cases := map[string]func() (*plot.Plot, error){
		"bars": func() (*plot.Plot, error) {
			return Bars("ratings", "share", []string{"1", "2", "3"}, []float64{0.1, nan, 0.5})
		},
		"hbars": func() (*plot.Plot, error) {
			return HBars("genres", "items", []string{"drama", "comedy", "thriller"}, []float64{40, 30, 10})
		},
		"grouped": func() (*plot.Plot, error) {
			return GroupedBars("ndcg@10 by domain", "ndcg@10", []string{"movies", "books"}, []Series{
				{Name: "user-bias", Y: []float64{0.2, 0.1}, Err: []float64{0.01, 0.02}},
				{Name: "maml", Y: []float64{0.25, nan}, Err: []float64{0.03, nan}},
			})
		},
		"lines": func() (*plot.Plot, error) {
			return Lines("cold start", "K", "ndcg@10", []Series{
				{Name: "a", X: []float64{1, 3, 5, 10}, Y: []float64{0.1, 0.15, nan, 0.2}, Err: []float64{0.01, 0.01, 0.01, 0.02}},
				{Name: "b", X: []float64{1, 3, 5, 10}, Y: []float64{0.12, 0.13, 0.14, 0.15}},
			})
		},
		"loglog": func() (*plot.Plot, error) {
			return LogLog("long tail", "count", "density", []Series{
				{Name: "movies", X: []float64{0.5, 1.5, 3, 6, 12}, Y: []float64{0, 100, 40, 10, 1}},
				{Name: "zeros only", X: []float64{0, -1}, Y: []float64{1, 2}},
			})
		},
		"scatter": func() (*plot.Plot, error) {
			return Scatter("means", "book", "music", []float64{3, 4, 5, nan}, []float64{3.5, 4, 4.6, 1}, true)
		},
		"heatmap": func() (*plot.Plot, error) {
			return Heatmap("shares", []string{"drama", "rock"}, []string{"movies", "music"},
				[][]float64{{45, 0}, {nan, 30}}, "%.0f%%")
		},
		"boxes": func() (*plot.Plot, error) {
			return Boxes("per user", "recall@10", []string{"a", "b", "empty"}, [][]float64{{0.1, 0.2, 0.3, 0.9}, {0, 0, 0.5}, {nan}})
		},
	}
	for name, build := range cases {
		p, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(p.Title.Text, "no data") {
			t.Errorf("%s: title %q says no data", name, p.Title.Text)
		}
		render(t, name, p)
	}
}

// A results notebook must render when a model or a whole table is absent:
// every builder accepts empty or all-NaN input and says so in the title.
func TestBuildersEmpty(t *testing.T) {
	nan := math.NaN()
	cases := map[string]func() (*plot.Plot, error){
		"bars":    func() (*plot.Plot, error) { return Bars("x", "y", nil, nil) },
		"hbars":   func() (*plot.Plot, error) { return HBars("x", "y", nil, nil) },
		"grouped": func() (*plot.Plot, error) { return GroupedBars("x", "y", []string{"a"}, []Series{{Y: []float64{nan}}}) },
		"lines":   func() (*plot.Plot, error) { return Lines("x", "k", "y", nil) },
		"loglog":  func() (*plot.Plot, error) { return LogLog("x", "k", "y", []Series{{Y: []float64{0, 0}}}) },
		"scatter": func() (*plot.Plot, error) { return Scatter("x", "a", "b", nil, nil, true) },
		"heatmap": func() (*plot.Plot, error) { return Heatmap("x", nil, nil, nil, "%.1f") },
		"boxes":   func() (*plot.Plot, error) { return Boxes("x", "y", []string{"a"}, [][]float64{nil}) },
	}
	for name, build := range cases {
		p, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(p.Title.Text, "no data") {
			t.Errorf("%s: empty plot's title %q does not say so", name, p.Title.Text)
		}
		render(t, "empty-"+name, p)
	}
}

func TestRefLine(t *testing.T) {
	p, err := Bars("ratios", "ratio", []string{"a", "b"}, []float64{0.4, 0.6})
	if err != nil {
		t.Fatal(err)
	}
	RefLine(p, 1, "no loss")
	if p.Y.Max < 1 {
		t.Errorf("y axis tops at %v, below the reference line at 1", p.Y.Max)
	}
	if svg := render(t, "refline", p); !bytes.Contains(svg, []byte("no loss")) {
		t.Error("legend lacks the reference line's label")
	}
}

func TestShapeErrors(t *testing.T) {
	if _, err := GroupedBars("x", "y", []string{"a", "b"}, []Series{{Name: "s", Y: []float64{1}}}); err == nil {
		t.Error("GroupedBars accepted 1 value for 2 groups")
	}
	if _, err := HBars("x", "y", []string{"a"}, []float64{1, 2}); err == nil {
		t.Error("HBars accepted 1 label for 2 values")
	}
	if _, err := Heatmap("x", []string{"r"}, []string{"a", "b"}, [][]float64{{1}}, ""); err == nil {
		t.Error("Heatmap accepted a short row")
	}
	if _, err := Scatter("x", "a", "b", []float64{1}, nil, false); err == nil {
		t.Error("Scatter accepted unpaired values")
	}
}

func TestGridAndShowOutsideNotebook(t *testing.T) {
	a, _ := Bars("a", "", []string{"x"}, []float64{1})
	b, _ := Lines("b", "", "", []Series{{Y: []float64{1, 2}}})
	svg, err := GridSVG(2, Width/2, Height, a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) {
		t.Fatal("grid is not an SVG document")
	}
	if InNotebook() {
		t.Skip("running inside a notebook")
	}
	// Outside a notebook the display calls render and do nothing else.
	if err := Show(a); err != nil {
		t.Fatal(err)
	}
	if err := ShowGrid(2, a, b); err != nil {
		t.Fatal(err)
	}
}

func TestLeastSquares(t *testing.T) {
	p, err := Scatter("fit", "x", "y", []float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, true)
	if err != nil {
		t.Fatal(err)
	}
	// The legend names the fitted line y = 1 + 2x exactly.
	if svg := render(t, "fit", p); !bytes.Contains(svg, []byte("y = 1.00 + 2.00 x")) {
		t.Error("legend lacks the fitted line y = 1.00 + 2.00 x")
	}
}

func TestTableText(t *testing.T) {
	Table("caption", []string{"a"}, [][]string{{"1"}}) // prints outside a notebook
	got := TableText([]string{"model", "ndcg@10"}, [][]string{{"user-bias", "0.12"}, {"maml", "0.2"}})
	want := "model      ndcg@10\nuser-bias  0.12\nmaml       0.2\n"
	if got != want {
		t.Errorf("TableText:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormat(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct{ got, want string }{
		{Num(3.14159, 2), "3.14"},
		{Num(nan, 2), "-"},
		{Num(math.Inf(1), 0), "-"},
		{Pct(0.2504), "25.0%"},
		{Pct(nan), "-"},
		{PlusMinus(0.1234, 0.0042, 3), "0.123 ± 0.004"},
		{PlusMinus(0.1234, nan, 3), "0.123"},
		{Count(0), "0"},
		{Count(999), "999"},
		{Count(1000), "1,000"},
		{Count(1234567), "1,234,567"},
		{Count(-1234567), "-1,234,567"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	var labels []string
	minor := 0
	for _, tk := range (logTicks{}).Ticks(-5.3, 2.1) {
		if tk.Label == "" {
			minor++
			continue
		}
		labels = append(labels, tk.Label)
	}
	want := "1e-05 0.0001 0.001 0.01 0.1 1 10 100"
	if got := strings.Join(labels, " "); got != want {
		t.Errorf("labels %q, want %q", got, want)
	}
	if minor == 0 {
		t.Error("no minor ticks between the powers of ten")
	}
}
