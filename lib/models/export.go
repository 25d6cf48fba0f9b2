package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Files of an exported model. GoMLX's own checkpoints carry timestamps, so
// the DVC outputs are these instead: weights.arrow (one row per parameter:
// name, dims, values, with the pipeline's lineage and content hash in the
// schema metadata) and model.json (the Config and how it was trained).
// Both are byte-identical for identical weights.
const (
	WeightsFile = "weights.arrow"
	HeaderFile  = "model.json"
)

// Header is model.json.
type Header struct {
	Name   string `json:"name"`
	Config Config `json:"config"`
	// Training holds what the trainer records (method, seed, steps...).
	Training map[string]any `json:"training,omitempty"`
}

var weightsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "dims", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
	{Name: "values", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
}, nil)

// Save writes an exported model to dir (created if needed).
func Save(dir string, h Header, w *Weights, lineage artifact.Lineage) error {
	if err := checkWeights(&h.Config, w); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := WriteWeights(filepath.Join(dir, WeightsFile), w, lineage); err != nil {
		return err
	}
	return artifact.WriteJSON(filepath.Join(dir, HeaderFile), h)
}

// WriteWeights writes a weights file: one row per parameter (name, dims,
// values), the lineage and content hash in the schema metadata. Every
// model of the project exports its parameters this way.
func WriteWeights(path string, w *Weights, lineage artifact.Lineage) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, weightsSchema)
	defer b.Release()
	names := b.Field(0).(*array.StringBuilder)
	dims := b.Field(1).(*array.ListBuilder)
	vals := b.Field(2).(*array.ListBuilder)
	for i, s := range w.Specs {
		names.Append(s.Name)
		dims.Append(true)
		for _, d := range s.Dims {
			dims.ValueBuilder().(*array.Int32Builder).Append(int32(d))
		}
		vals.Append(true)
		vals.ValueBuilder().(*array.Float32Builder).AppendValues(w.Values[i], nil)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	_, err := artifact.WriteArrow(path, rec, lineage)
	return err
}

// checkWeights verifies w holds exactly the config's parameters.
func checkWeights(c *Config, w *Weights) error {
	want := c.Vars()
	if len(w.Specs) != len(want) || len(w.Values) != len(want) {
		return fmt.Errorf("%d parameters, the config has %d", len(w.Specs), len(want))
	}
	for i, s := range want {
		if w.Specs[i].Name != s.Name || !slices.Equal(w.Specs[i].Dims, s.Dims) || len(w.Values[i]) != s.Size() {
			return fmt.Errorf("parameter %d: %s%v with %d values, the config wants %s%v", i, w.Specs[i].Name, w.Specs[i].Dims, len(w.Values[i]), s.Name, s.Dims)
		}
		if s.Name == "rank_gate" {
			for d, g := range w.Values[i] {
				if g != 0 && g != 1 {
					return fmt.Errorf("rank_gate[%d] = %g: a domain is ranked by one score or the other (0 or 1)", d, g)
				}
			}
		}
	}
	return nil
}

// ReadExport reads an exported model (header and weights, the weights'
// content hash verified).
func ReadExport(dir string) (*Header, *Weights, error) {
	hb, err := os.ReadFile(filepath.Join(dir, HeaderFile))
	if err != nil {
		return nil, nil, err
	}
	var h Header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, HeaderFile), err)
	}
	if err := h.Config.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, HeaderFile), err)
	}
	path := filepath.Join(dir, WeightsFile)
	w, err := ReadWeights(path)
	if err != nil {
		return nil, nil, err
	}
	want := h.Config.Vars()
	if err := checkWeights(&h.Config, w); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	w.Specs = want
	return &h, w, nil
}

// ReadWeights reads a weights file written by WriteWeights, its content
// hash verified.
func ReadWeights(path string) (*Weights, error) {
	rec, _, err := artifact.ReadArrow(path)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	if rec.NumCols() != 3 {
		return nil, fmt.Errorf("%s: not a weights file", path)
	}
	names, ok1 := rec.Column(0).(*array.String)
	dims, ok2 := rec.Column(1).(*array.List)
	vals, ok3 := rec.Column(2).(*array.List)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("%s: not a weights file (columns name, dims, values)", path)
	}
	dv := dims.ListValues().(*array.Int32)
	vv := vals.ListValues().(*array.Float32)
	w := &Weights{}
	for i := 0; i < int(rec.NumRows()); i++ {
		s := VarSpec{Name: names.Value(i)}
		a, b := dims.ValueOffsets(i)
		for j := a; j < b; j++ {
			s.Dims = append(s.Dims, int(dv.Value(int(j))))
		}
		a, b = vals.ValueOffsets(i)
		w.Specs = append(w.Specs, s)
		w.Values = append(w.Values, slices.Clone(vv.Float32Values()[a:b]))
	}
	return w, nil
}

// SeedPrefix names the folders of a model trained with several seeds:
// artifacts/models/<name>/seed-<s>/.
const SeedPrefix = "seed-"

// SeedDirs lists the seed folders of a model folder, sorted by seed; nil
// when dir holds an exported model itself.
func SeedDirs(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, HeaderFile)); err == nil {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), SeedPrefix) {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), HeaderFile)); err == nil {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return seedOf(out[i]) < seedOf(out[j]) })
	return out, nil
}

func seedOf(dir string) int {
	var s int
	fmt.Sscanf(strings.TrimPrefix(filepath.Base(dir), SeedPrefix), "%d", &s)
	return s
}

// SaveExport writes an export of any architecture to dir (created if
// needed): weights.arrow (WriteWeights) and model.json (header, whose
// "arch" field names the architecture for ArchOf).
func SaveExport(dir string, header any, w *Weights, lineage artifact.Lineage) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := WriteWeights(filepath.Join(dir, WeightsFile), w, lineage); err != nil {
		return err
	}
	return artifact.WriteJSON(filepath.Join(dir, HeaderFile), header)
}

// ArchOf is the top-level "arch" of dir's model.json: set by the exports of
// lib/vae and lib/gnn, "" for this package's own (whose architecture sits
// inside the config) or when there is no readable header.
func ArchOf(dir string) string {
	var h struct {
		Arch string `json:"arch"`
	}
	if ReadHeader(dir, &h) != nil {
		return ""
	}
	return h.Arch
}

// ReadHeader decodes dir's model.json into h.
func ReadHeader(dir string, h any) error {
	path := filepath.Join(dir, HeaderFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, h); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// CheckCatalogue verifies that a model trained for domains with the given
// catalogue sizes matches the task files' item table (what changed is named,
// and retraining is the fix).
func CheckCatalogue(dir string, domains []string, items []int, table *tasks.ItemTable) error {
	path := filepath.Join(dir, HeaderFile)
	if len(domains) != len(table.Domains) || len(items) != len(domains) {
		return fmt.Errorf("%s: trained for %d domains, the task files have %d: retrain it", path, len(domains), len(table.Domains))
	}
	for d, dom := range table.Domains {
		if domains[d] != dom.Name || items[d] != len(dom.IDs) {
			return fmt.Errorf("%s: domain %d is %s with %d items, the task files have %s with %d: retrain it", path, d, domains[d], items[d], dom.Name, len(dom.IDs))
		}
	}
	return nil
}

// ArchHeader is the model.json of an architecture trained outside this
// package (lib/vae, lib/gnn): Arch names it, Config is its own.
type ArchHeader[C any] struct {
	Name   string `json:"name"`
	Arch   string `json:"arch"`
	Config C      `json:"config"`
	// Training holds what the trainer records (seed, epochs, the exported
	// epoch...).
	Training map[string]any `json:"training,omitempty"`
}

// ReadArchExport reads an export of architecture arch from dir: its header
// and its weights (content hash verified).
func ReadArchExport[C any](dir, arch string) (*ArchHeader[C], *Weights, error) {
	var h ArchHeader[C]
	if err := ReadHeader(dir, &h); err != nil {
		return nil, nil, err
	}
	if h.Arch != arch {
		return nil, nil, fmt.Errorf("%s: arch %q, not %q", filepath.Join(dir, HeaderFile), h.Arch, arch)
	}
	w, err := ReadWeights(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, nil, err
	}
	return &h, w, nil
}
