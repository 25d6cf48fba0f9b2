// Package plots draws the notebooks' figures with gonum/plot and shows them
// in a GoNB notebook, so that a notebook cell stays a few lines long.
//
// Everything renders offline: plots become SVG (vgsvg) and are sent to the
// notebook as an image/svg+xml output, which Jupyter shows and nbconvert
// keeps in the executed notebook. No JavaScript, no network.
//
// The builders (Bars, HBars, GroupedBars, Lines, LogLog, Scatter, Heatmap,
// Boxes) return a *plot.Plot that the caller may adjust before Show. They
// never fail on empty or undefined data: NaN values and, on log axes,
// non-positive ones are left out, and a plot with nothing to draw says so
// in its title rather than erroring, so a results notebook still renders
// when a model is absent.
//
// Show, ShowGrid and Table send display data through gonbui, whose calls
// do nothing outside a notebook; SVG and GridSVG return the bytes for use
// anywhere (a file, a test).
package plots
