package notebooks

import (
	"encoding/json"
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
