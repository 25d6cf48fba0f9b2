package gnn

import (
	"fmt"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Header is an exported LightGCN's model.json (beside weights.arrow, the
// project's weights format: lib/models WriteWeights).
type Header = models.ArchHeader[Config]

// Save writes an exported model to dir (created if needed).
func Save(dir string, h Header, w *models.Weights, lineage artifact.Lineage) error {
	h.Arch = Arch
	if _, err := NewModel(h.Name, h.Config, w); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	return models.SaveExport(dir, h, w, lineage)
}

// IsExport tells whether dir holds an exported LightGCN.
func IsExport(dir string) bool { return models.ArchOf(dir) == Arch }

// Load reads the model exported in dir (one seed's folder) and checks it
// was trained for the catalogue of items.
func Load(dir string, items *tasks.ItemTable) (*Model, error) {
	h, w, err := models.ReadArchExport[Config](dir, Arch)
	if err != nil {
		return nil, err
	}
	if err := models.CheckCatalogue(dir, h.Config.Domains, h.Config.Items, items); err != nil {
		return nil, err
	}
	m, err := NewModel(h.Name, h.Config, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}
