package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Loader loads the trained model exported in dir; lib/models.Load is the
// one the stage uses.
type Loader func(dir string, items *tasks.ItemTable) (recommend.Scorer, error)

// LODOInfix names leave-one-domain-out models: "<model>-lodo-<domain>" is
// <model> meta-trained without <domain>, scored on that domain only.
const LODOInfix = "-lodo-"

// trained is one trained model found under the models folder.
type trained struct {
	name       string
	lodoBase   string // set for a leave-one-domain-out model
	lodoDomain string
	dirs       []string // per seed: the folder it was loaded from
	scorers    []recommend.Scorer
}

// discover finds the trained models: every folder under dir is one model,
// named by the folder. For seed s the model is read from <name>/seed-<s>/
// when that exists, else from <name>/ itself (a model trained once). A
// missing models folder, or a model that does not load, is "not trained
// yet": it is left out and its reason reported, never an error, so the
// harness runs from day one. A folder named like a baseline is an error,
// because its rows would be indistinguishable in every output.
func discover(dir string, seeds []uint64, items *tasks.ItemTable, load Loader, reserved []string) ([]trained, map[string]string, error) {
	skipped := map[string]string{}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, skipped, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("models folder %s: %w", dir, err)
	}
	domains := make([]string, len(items.Domains))
	for i, d := range items.Domains {
		domains[i] = d.Name
	}
	var out []trained
	for _, e := range entries { // os.ReadDir sorts by name
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if slices.Contains(reserved, name) {
			return nil, nil, fmt.Errorf("models folder %s: model %q has a baseline's name", dir, name)
		}
		if load == nil {
			skipped[name] = "no model loader"
			continue
		}
		t := trained{name: name}
		if i := strings.LastIndex(name, LODOInfix); i > 0 && slices.Contains(domains, name[i+len(LODOInfix):]) {
			t.lodoBase, t.lodoDomain = name[:i], name[i+len(LODOInfix):]
		}
		loaded := map[string]recommend.Scorer{}
		for _, s := range seeds {
			md := filepath.Join(dir, name)
			if st, err := os.Stat(filepath.Join(md, fmt.Sprintf("seed-%d", s))); err == nil && st.IsDir() {
				md = filepath.Join(md, fmt.Sprintf("seed-%d", s))
			}
			sc, ok := loaded[md]
			if !ok {
				sc, err = load(md, items)
				if err != nil {
					skipped[name] = err.Error()
					break
				}
				loaded[md] = sc
			}
			t.dirs = append(t.dirs, md)
			t.scorers = append(t.scorers, sc)
		}
		if _, bad := skipped[name]; !bad {
			out = append(out, t)
		}
	}
	return out, skipped, nil
}
