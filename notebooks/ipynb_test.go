package notebooks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// PlotTag marks a code cell that must draw a figure: the executed notebook
// must hold an image/svg+xml or image/png output for it.
const PlotTag = "plot"

// ipynb is the part of the Jupyter notebook format (nbformat 4) the tests read.
type ipynb struct {
	Metadata struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
	Cells []ipynbCell `json:"cells"`
}

type ipynbCell struct {
	CellType string `json:"cell_type"`
	Metadata struct {
		Tags []string `json:"tags"`
	} `json:"metadata"`
	ExecutionCount *int          `json:"execution_count"`
	Outputs        []ipynbOutput `json:"outputs"`
}

type ipynbOutput struct {
	OutputType string                     `json:"output_type"`
	Data       map[string]json.RawMessage `json:"data"`
	Ename      string                     `json:"ename"`
	Evalue     string                     `json:"evalue"`
}

func (c ipynbCell) tagged(tag string) bool { return slices.Contains(c.Metadata.Tags, tag) }

// image returns the cell's first image output (SVG text or base64 PNG) and its MIME type.
func (c ipynbCell) image() (mime, data string) {
	for _, o := range c.Outputs {
		for _, m := range []string{"image/svg+xml", "image/png"} {
			raw, ok := o.Data[m]
			if !ok {
				continue
			}
			// nbformat stores multi-line text either as a string or as a list of lines.
			var s string
			if json.Unmarshal(raw, &s) != nil {
				var lines []string
				json.Unmarshal(raw, &lines)
				s = strings.Join(lines, "")
			}
			return m, s
		}
	}
	return "", ""
}

func readNotebook(t *testing.T, path string) ipynb {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb ipynb
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return nb
}

// notebookFiles lists the notebooks in this folder.
func notebookFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no notebooks in notebooks/")
	}
	return files
}

// executedProblems lists what is wrong with an executed notebook: a code
// cell that did not run, an error output, a cell tagged PlotTag without an
// image (or with an SVG output that is no SVG document). It also returns
// the number of figures checked.
func executedProblems(nb ipynb) (problems []string, figures int) {
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		if c.ExecutionCount == nil {
			problems = append(problems, fmt.Sprintf("cell %d did not run", i))
		}
		for _, o := range c.Outputs {
			if o.OutputType == "error" {
				problems = append(problems, fmt.Sprintf("cell %d failed: %s: %s", i, o.Ename, o.Evalue))
			}
		}
		if !c.tagged(PlotTag) {
			continue
		}
		figures++
		switch mime, data := c.image(); {
		case mime == "":
			problems = append(problems, fmt.Sprintf("cell %d is tagged %q but produced no image/svg+xml or image/png output", i, PlotTag))
		case mime == "image/svg+xml" && !strings.Contains(data, "<svg"):
			problems = append(problems, fmt.Sprintf("cell %d: its image/svg+xml output is not an SVG document", i))
		case len(data) < 100:
			problems = append(problems, fmt.Sprintf("cell %d: its %s output is %d bytes, too small to be a figure", i, mime, len(data)))
		}
	}
	return problems, figures
}

func TestExecutedProblems(t *testing.T) {
	svg := `"<svg xmlns='http://www.w3.org/2000/svg'>` + strings.Repeat(" ", 100) + `</svg>"`
	cases := []struct {
		name, cells string
		want        []string // substrings, one per problem
	}{
		{"good", `[{"cell_type":"markdown","source":"x"},
			{"cell_type":"code","execution_count":1,"metadata":{"tags":["plot"]},"outputs":[{"output_type":"display_data","data":{"image/svg+xml":` + svg + `}}]},
			{"cell_type":"code","execution_count":2,"outputs":[{"output_type":"stream","text":"hi"}]}]`, nil},
		{"svg as a list of lines", `[{"cell_type":"code","execution_count":1,"metadata":{"tags":["plot"]},"outputs":[{"output_type":"display_data","data":{"image/svg+xml":["<svg>", ` + svg + `]}}]}]`, nil},
		{"plot cell without image", `[{"cell_type":"code","execution_count":1,"metadata":{"tags":["plot"]},"outputs":[{"output_type":"display_data","data":{"text/html":"<b>x</b>"}}]}]`,
			[]string{"no image"}},
		{"not an svg", `[{"cell_type":"code","execution_count":1,"metadata":{"tags":["plot"]},"outputs":[{"output_type":"display_data","data":{"image/svg+xml":"<html></html>"}}]}]`,
			[]string{"not an SVG"}},
		{"error and unexecuted", `[{"cell_type":"code","execution_count":1,"outputs":[{"output_type":"error","ename":"panic","evalue":"boom"}]},
			{"cell_type":"code","execution_count":null,"outputs":[]}]`, []string{"failed: panic: boom", "did not run"}},
	}
	for _, c := range cases {
		var nb ipynb
		if err := json.Unmarshal([]byte(`{"cells":`+c.cells+`}`), &nb); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, _ := executedProblems(nb)
		if len(got) != len(c.want) {
			t.Errorf("%s: problems %q, want %d", c.name, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: problem %q does not mention %q", c.name, got[i], w)
			}
		}
	}
}

// TestNotebooksCommittedClean checks the notebooks as committed: the gonb
// kernel, no outputs (executed copies go to the git-ignored out/), and at
// least one cell tagged as a plot, so the headless test has figures to check.
func TestNotebooksCommittedClean(t *testing.T) {
	for _, f := range notebookFiles(t) {
		nb := readNotebook(t, f)
		if k := nb.Metadata.Kernelspec.Name; k != "gonb" {
			t.Errorf("%s: kernel %q, want gonb", f, k)
		}
		plots := 0
		for i, c := range nb.Cells {
			if c.CellType != "code" {
				continue
			}
			if len(c.Outputs) > 0 || c.ExecutionCount != nil {
				t.Errorf("%s: cell %d carries outputs: clear them before committing (executed copies belong in notebooks/out)", f, i)
			}
			if c.tagged(PlotTag) {
				plots++
			}
		}
		if plots == 0 {
			t.Errorf("%s: no cell tagged %q", f, PlotTag)
		}
	}
}
