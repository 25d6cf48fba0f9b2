package vae

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Header is an exported Mult-VAE's model.json (beside weights.arrow, the
// project's weights format: lib/models WriteWeights).
type Header struct {
	Name   string `json:"name"`
	Arch   string `json:"arch"` // always Arch: how a loader tells this export from lib/models'
	Config Config `json:"config"`
	// Training holds what the trainer records (seed, epochs, the exported
	// epoch per domain...).
	Training map[string]any `json:"training,omitempty"`
}

// Save writes an exported model to dir (created if needed).
func Save(dir string, h Header, w *models.Weights, lineage artifact.Lineage) error {
	h.Arch = Arch
	if _, err := NewModel(h.Name, h.Config, w); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := models.WriteWeights(filepath.Join(dir, models.WeightsFile), w, lineage); err != nil {
		return err
	}
	return artifact.WriteJSON(filepath.Join(dir, models.HeaderFile), h)
}

// IsExport tells whether dir holds an exported Mult-VAE (a model.json
// whose arch is Arch).
func IsExport(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, models.HeaderFile))
	if err != nil {
		return false
	}
	var h struct {
		Arch string `json:"arch"`
	}
	return json.Unmarshal(b, &h) == nil && h.Arch == Arch
}

// Load reads the model exported in dir (one seed's folder) and checks it
// was trained for the catalogue of items.
func Load(dir string, items *tasks.ItemTable) (*Model, error) {
	path := filepath.Join(dir, models.HeaderFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var h Header
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.Arch != Arch {
		return nil, fmt.Errorf("%s: arch %q, not %q", path, h.Arch, Arch)
	}
	if len(h.Config.Domains) != len(items.Domains) {
		return nil, fmt.Errorf("%s: trained for %d domains, the task files have %d", path, len(h.Config.Domains), len(items.Domains))
	}
	for d, dom := range items.Domains {
		if h.Config.Domains[d] != dom.Name || h.Config.Items[d] != len(dom.IDs) {
			return nil, fmt.Errorf("%s: domain %d is %s with %d items, the task files have %s with %d: retrain it", path, d, h.Config.Domains[d], h.Config.Items[d], dom.Name, len(dom.IDs))
		}
	}
	w, err := models.ReadWeights(filepath.Join(dir, models.WeightsFile))
	if err != nil {
		return nil, err
	}
	m, err := NewModel(h.Name, h.Config, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}
