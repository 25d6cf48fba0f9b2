package pipeline

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
)

// Path resolves a repository-relative path under the run's root.
func (e Env) Path(rel string) string { return filepath.Join(e.Root, filepath.FromSlash(rel)) }

// Load reads the run's params.
func (e Env) Load() (*params.Params, error) {
	p := e.Params
	if p == "" {
		p = e.Path("params.yaml")
	}
	return params.Load(p)
}

// Lineage builds the lineage of a stage's outputs: the content hash of each
// input artifact (or file) and the hash of the params sections it reads.
func (e Env) Lineage(p *params.Params, stage string, sections []string, inputs ...string) (artifact.Lineage, error) {
	l := artifact.Lineage{Stage: stage, Inputs: map[string]string{}, ParamsSections: slices.Clone(sections)}
	for _, in := range inputs {
		h, err := artifact.InputHash(e.Path(in))
		if err != nil {
			return l, fmt.Errorf("lineage of %s: %w", in, err)
		}
		l.Inputs[in] = h
	}
	h, err := p.Hash(sections...)
	if err != nil {
		return l, err
	}
	l.ParamsSHA256 = h
	return l, nil
}
