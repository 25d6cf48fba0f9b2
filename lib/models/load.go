package models

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"

	"github.com/crossrec/crossrec/lib/backend"
	"github.com/crossrec/crossrec/lib/fastgrad"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

var (
	sharedOnce    sync.Once
	sharedBackend backends.Backend
	sharedErr     error
)

// Backend is the process's serving backend, chosen once by backend.Select
// (pure Go unless $GOMLX_BACKEND or a usable CUDA plugin says otherwise),
// with the faster DotGeneral gradient registered for the inner loop.
func Backend() (backends.Backend, error) {
	sharedOnce.Do(func() {
		if err := fastgrad.Register(); err != nil {
			fmt.Fprintf(os.Stderr, "models: %v (using GoMLX's own DotGeneral gradient)\n", err)
		}
		s, err := backend.Select("")
		if err != nil {
			sharedErr = err
			return
		}
		sharedBackend = s.Backend
	})
	return sharedBackend, sharedErr
}

// Load returns the scorer of the model exported in dir: a model folder
// (artifacts/models/<name>/) with one seed, or one seed's folder
// (artifacts/models/<name>/seed-<s>/). A folder with several seeds is an
// error naming them: each seed is a model of its own (see SeedDirs). The
// scorer is a *Model, which also implements recommend.CrossScorer.
func Load(dir string, items *tasks.ItemTable) (recommend.Scorer, error) {
	return LoadModel(dir, items)
}

// LoadModel is Load with the concrete type.
func LoadModel(dir string, items *tasks.ItemTable) (*Model, error) {
	seeds, err := SeedDirs(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: no exported model: %w", dir, err)
	}
	switch {
	case len(seeds) == 1:
		dir = seeds[0]
	case len(seeds) > 1:
		names := make([]string, len(seeds))
		for i, s := range seeds {
			names[i] = filepath.Base(s)
		}
		return nil, fmt.Errorf("%s: trained with %d seeds (%s): load each seed folder", dir, len(seeds), strings.Join(names, ", "))
	}
	h, w, err := ReadExport(dir)
	if err != nil {
		return nil, err
	}
	b, err := Backend()
	if err != nil {
		return nil, err
	}
	m, err := NewModel(h.Name, b, h.Config, w, items)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}
