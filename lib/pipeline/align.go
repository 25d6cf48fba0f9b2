package pipeline

import (
	"github.com/crossrec/crossrec/lib/align"
	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/schema"
)

func alignStage() Stage {
	in := []string{FeatureItems, CleanItems, NormInteractions, GenreList, GenreMap}
	sections := []string{"data"}
	return Stage{
		Name:    "align",
		Deps:    deps(in, code("align", "align")),
		Outs:    []string{AlignItems},
		Metrics: []string{AlignCoverage},
		Params:  sections,
		Run: func(env Env) error {
			p, err := env.Load()
			if err != nil {
				return err
			}
			l, err := env.Lineage(p, "align", sections, in...)
			if err != nil {
				return err
			}
			// The stage reads the reviewed table from the files dvc.yaml
			// tracks, not the copy embedded in the binary, so an edit to the
			// table is what reruns the stage and what the stage uses.
			m, err := align.LoadFiles(env.Path(GenreList), env.Path(GenreMap))
			if err != nil {
				return err
			}
			items, _, err := artifact.ReadAll[schema.Item](env.Path(CleanItems))
			if err != nil {
				return err
			}
			genres := make(map[[2]string][]string, len(items))
			cov := m.NewCoverage()
			for i := range items {
				it := &items[i]
				src, ok := p.Data.Domains[it.Domain]
				if !ok {
					continue
				}
				genres[[2]string{it.Domain, it.Item}] = it.Genres
				if err := cov.AddItem(src.Kind, it); err != nil {
					return err
				}
			}
			feats, _, err := artifact.ReadAll[schema.ItemFeatures](env.Path(FeatureItems))
			if err != nil {
				return err
			}
			out := make([]schema.AlignedItem, 0, len(feats))
			for _, f := range feats {
				kind := p.Data.Domains[f.Domain].Kind
				g := genres[[2]string{f.Domain, f.Item}]
				idx := m.Map(kind, g)
				ui := make([]int32, len(idx))
				for i, v := range idx {
					ui[i] = int32(v)
				}
				out = append(out, schema.AlignedItem{Domain: f.Domain, Item: f.Item, Index: f.Index, Universal: m.Vector(kind, g), UniversalIdx: ui})
			}
			_, err = artifact.Scan(env.Path(NormInteractions), 8192, func(xs []schema.NormInteraction) error {
				for i := range xs {
					if _, ok := p.Data.Domains[xs[i].Domain]; ok {
						cov.AddInteraction(&xs[i].Interaction)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			w, err := artifact.Create[schema.AlignedItem](env.Path(AlignItems), l)
			if err != nil {
				return err
			}
			defer w.Abort()
			if err := w.Write(out); err != nil {
				return err
			}
			if _, err := w.Close(); err != nil {
				return err
			}
			return artifact.WriteJSON(env.Path(AlignCoverage), map[string]any{
				"universal_genres": len(m.Universal()),
				"domains":          cov.Result(),
			})
		},
	}
}
