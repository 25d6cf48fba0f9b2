package pipeline

import (
	"github.com/crossrec/crossrec/lib/align"
	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/eda"
	"github.com/crossrec/crossrec/lib/schema"
)

func edaStage() Stage {
	in := []string{CleanInteractions, CleanItems, AlignItems, GenreList}
	return Stage{
		Name:   "eda",
		Deps:   deps(in, code("eda", "eda", "align")),
		Outs:   []string{EDAStats},
		Params: []string{"eda"},
		Run: func(env Env) error {
			p, err := env.Load()
			if err != nil {
				return err
			}
			genres, err := align.LoadFiles(env.Path(GenreList), "")
			if err != nil {
				return err
			}
			names := genres.Universal()
			aligned, _, err := artifact.ReadAll[schema.AlignedItem](env.Path(AlignItems))
			if err != nil {
				return err
			}
			universal := make(map[[2]string][]string, len(aligned))
			for _, a := range aligned {
				var u []string
				for _, i := range a.UniversalIdx {
					u = append(u, names[i])
				}
				universal[[2]string{a.Domain, a.Item}] = u
			}
			acc, err := eda.New(eda.OptionsFrom(p.EDA))
			if err != nil {
				return err
			}
			items, _, err := artifact.ReadAll[schema.Item](env.Path(CleanItems))
			if err != nil {
				return err
			}
			for i := range items {
				if err := acc.AddItem(&items[i], universal[[2]string{items[i].Domain, items[i].Item}]); err != nil {
					return err
				}
			}
			if _, err := artifact.Scan(env.Path(CleanInteractions), 8192, func(xs []schema.Interaction) error {
				for i := range xs {
					if err := acc.AddInteraction(&xs[i]); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
			stats, err := acc.Result()
			if err != nil {
				return err
			}
			b, err := stats.JSON()
			if err != nil {
				return err
			}
			return artifact.WriteFileAtomic(env.Path(EDAStats), b)
		},
	}
}
