// Package xcheck is what the learned models' cross-checks (bench/vae,
// bench/gnn) share: the evaluation's data and the held-out users of a
// bench/peers export, one domain's episodes as a training set of its own,
// and per-user NDCG@10 in the export's JSON form.
package xcheck

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Export is the evaluation's data and the draw of a bench/peers export.
type Export struct {
	Data *eval.Data
	Cfg  eval.Config
	Seed uint64 // evaluation seed of the held-out users' draw
	K    int    // support size
}

// Open reads the pipeline's artifacts under root and the manifest of the
// export in dir.
func Open(root, dir string) (*Export, error) {
	p, err := params.Load(filepath.Join(root, "params.yaml"))
	if err != nil {
		return nil, err
	}
	cfg, err := eval.ConfigFrom(p)
	if err != nil {
		return nil, err
	}
	d, err := eval.Load(filepath.Join(root, "artifacts/tasks"), filepath.Join(root, "artifacts/normalize/scalers.parquet"), cfg.CrossPairs)
	if err != nil {
		return nil, err
	}
	var m struct {
		Seed uint64 `json:"seed"`
		K    int    `json:"k"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("%w (run go run ./bench/peers -export %s first)", err, dir)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	return &Export{Data: d, Cfg: cfg, Seed: m.Seed, K: m.K}, nil
}

// Domain is one domain of the export as a data set of its own: its item
// table and its train and validation episodes renumbered as domain 0.
type Domain struct {
	Index        int
	Items        *tasks.ItemTable
	Train, Valid []tasks.Episode
	Cases        []eval.Case
}

// Domain returns domain name of the export.
func (x *Export) Domain(name string) (*Domain, error) {
	di := slices.IndexFunc(x.Data.Domains, func(d eval.Domain) bool { return d.Name == name })
	if di < 0 {
		return nil, fmt.Errorf("no domain %q", name)
	}
	only := func(eps []tasks.Episode) []tasks.Episode {
		var o []tasks.Episode
		for _, e := range eps {
			if int(e.DomainIndex) == di {
				e.DomainIndex = 0
				o = append(o, e)
			}
		}
		return o
	}
	return &Domain{Index: di, Items: &tasks.ItemTable{Domains: []tasks.ItemDomain{x.Data.Items.Domains[di]}},
		Train: only(x.Data.Train), Valid: only(x.Data.Valid), Cases: eval.HeldOutCases(x.Data, x.Cfg, x.Seed, name, x.K)}, nil
}

// NDCG scores the domain's held-out users with sc, a model trained on the
// domain alone (its domain 0), through the evaluation's engine: per-user
// NDCG@10 (nil for a user without a relevant query item) and the mean.
func (x *Export) NDCG(d *Domain, sc recommend.Scorer) ([]*float64, float64, error) {
	nd, err := eval.NDCGPerUser(x.Data, x.Cfg, &shifted{sc: sc, domain: int32(d.Index)}, d.Cases)
	if err != nil {
		return nil, 0, err
	}
	var out []*float64
	sum, n := 0.0, 0
	for _, v := range nd {
		if math.IsNaN(v) {
			out = append(out, nil)
			continue
		}
		out = append(out, &v)
		sum += v
		n++
	}
	return out, sum / float64(max(n, 1)), nil
}

// shifted serves the evaluation's domain index with a model trained on
// that domain alone.
type shifted struct {
	sc     recommend.Scorer
	domain int32
}

func (s *shifted) Name() string { return s.sc.Name() }

func (s *shifted) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	if domain != s.domain {
		return nil, fmt.Errorf("asked for domain %d, trained on %d", domain, s.domain)
	}
	return s.sc.Score(0, support, cands)
}

func (s *shifted) RankingOnly() bool { return true }
