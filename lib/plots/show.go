package plots

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Default size of one plot (one tile of a grid).
const (
	Width  = 6.5 * vg.Inch
	Height = 3.6 * vg.Inch
)

// SVG renders p as an SVG document of size w x h.
func SVG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	return withFallbackFonts(b.Bytes()), nil
}

// withFallbackFonts lets a viewer without the Liberation fonts (which
// gonum measures text with) use a metric-compatible face: Arimo, Arial and
// Helvetica have Liberation Sans's widths, so labels keep their layout.
// Embedding the font instead would add hundreds of kilobytes per figure.
func withFallbackFonts(svg []byte) []byte {
	return bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;"))
}

// GridSVG renders plots side by side, cols per row, each tile w x h; nil
// entries leave a tile empty.
func GridSVG(cols int, w, h vg.Length, ps ...*plot.Plot) ([]byte, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("plots: grid of no plots")
	}
	cols = max(1, min(cols, len(ps)))
	rows := (len(ps) + cols - 1) / cols
	c := vgsvg.New(vg.Length(cols)*w, vg.Length(rows)*h)
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
		for k := range cols {
			if i := r*cols + k; i < len(ps) {
				grid[r][k] = ps[i]
			}
		}
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter, PadY: vg.Millimeter,
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: vg.Millimeter}
	canvases := plot.Align(grid, tiles, draw.New(c))
	for r := range grid {
		for k, p := range grid[r] {
			if p != nil {
				p.Draw(canvases[r][k])
			}
		}
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	return withFallbackFonts(b.Bytes()), nil
}

// InNotebook reports whether the program runs as a GoNB cell.
func InNotebook() bool { return gonbui.IsNotebook }

// DisplaySVG shows an SVG document as an image/svg+xml output of the cell
// (gonbui.DisplaySvg would wrap it in HTML instead).
func DisplaySVG(svg []byte) {
	send(&protocol.DisplayData{Data: map[protocol.MIMEType]any{protocol.MIMEImageSVG: string(svg)}})
}

// send hands display data to the kernel and waits until the kernel has
// taken it. SendData only writes to a pipe: a cell whose last statement
// shows a figure can exit before the kernel reads it, and the figure is
// lost (a headless CI run saw a cell end with no output). Sync blocks
// until the kernel acknowledges everything written so far.
func send(d *protocol.DisplayData) {
	gonbui.SendData(d)
	gonbui.Sync()
}

// Show renders p at the default size and shows it in the notebook.
func Show(p *plot.Plot) error { return ShowSized(p, Width, Height) }

// ShowSized renders p at w x h and shows it in the notebook.
func ShowSized(p *plot.Plot, w, h vg.Length) error {
	svg, err := SVG(p, w, h)
	if err != nil {
		return err
	}
	DisplaySVG(svg)
	return nil
}

// ShowGrid shows plots in a grid of cols columns, each tile of width
// Width*2/cols (so a grid is as wide as two default plots) and Height.
func ShowGrid(cols int, ps ...*plot.Plot) error {
	cols = max(1, min(cols, len(ps)))
	svg, err := GridSVG(cols, 2*Width/vg.Length(cols), Height, ps...)
	if err != nil {
		return err
	}
	DisplaySVG(svg)
	return nil
}

// Must panics on err: plot cells have nothing better to do with a drawing
// error than to fail the cell, which fails a headless run.
func Must(err error) {
	if err != nil {
		panic(err)
	}
}

// Table shows rows under a header, with a caption above unless it is "":
// as an HTML table (with a plain-text copy) in a notebook, as aligned plain
// text on standard output elsewhere. The caption travels with the table:
// a notebook shows standard output and display data in separate streams,
// so a heading printed with fmt may land after the table.
func Table(caption string, header []string, rows [][]string) {
	text := TableText(header, rows)
	if caption != "" {
		text = caption + "\n" + text
	}
	if !gonbui.IsNotebook {
		fmt.Print(text)
		return
	}
	var b strings.Builder
	b.WriteString("<table>")
	if caption != "" {
		fmt.Fprintf(&b, "<caption>%s</caption>", html.EscapeString(caption))
	}
	b.WriteString("<thead><tr>")
	for _, h := range header {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(h))
	}
	b.WriteString("</tr></thead><tbody>")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	send(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMETextHTML: b.String(), protocol.MIMETextPlain: text}})
}

// TableText is the plain-text rendering Table uses: tab-aligned columns.
func TableText(header []string, rows [][]string) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	return b.String()
}

// Warn prints a message to standard error, which a notebook shows in red
// without failing the cell.
func Warn(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
