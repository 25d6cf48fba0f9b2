package pipeline

import (
	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/clean"
	"github.com/crossrec/crossrec/lib/features"
	"github.com/crossrec/crossrec/lib/normalize"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

func cleanStage() Stage {
	in := []string{IngestInteractions, IngestItems, IngestTags}
	return Stage{
		Name:    "clean",
		Deps:    deps(in, code("clean", "clean")),
		Outs:    []string{CleanInteractions, CleanItems, CleanTags},
		Metrics: []string{CleanReport},
		Params:  []string{"clean"},
		Run: func(env Env) error {
			p, err := env.Load()
			if err != nil {
				return err
			}
			l, err := env.Lineage(p, "clean", []string{"clean"}, in...)
			if err != nil {
				return err
			}
			rep, err := clean.Run(clean.Paths{
				InInteractions: env.Path(IngestInteractions), InItems: env.Path(IngestItems), InTags: env.Path(IngestTags),
				OutInteractions: env.Path(CleanInteractions), OutItems: env.Path(CleanItems), OutTags: env.Path(CleanTags),
			}, p.Clean, l)
			if err != nil {
				return err
			}
			return artifact.WriteJSON(env.Path(CleanReport), rep)
		},
	}
}

func normalizeStage() Stage {
	in := []string{CleanInteractions, CleanItems}
	return Stage{
		Name:   "normalize",
		Deps:   deps(in, code("normalize", "normalize", "split")),
		Outs:   []string{NormInteractions, NormItems, Scalers},
		Params: []string{"split"},
		Run: func(env Env) error {
			p, err := env.Load()
			if err != nil {
				return err
			}
			l, err := env.Lineage(p, "normalize", []string{"split"}, in...)
			if err != nil {
				return err
			}
			_, err = normalize.Run(normalize.Paths{
				InInteractions: env.Path(CleanInteractions), InItems: env.Path(CleanItems),
				OutInteractions: env.Path(NormInteractions), OutItems: env.Path(NormItems), Scalers: env.Path(Scalers),
			}, split.Assigner{Seed: p.Split.Seed, Train: p.Split.Train, Valid: p.Split.Valid}, l)
			return err
		},
	}
}

func featuresStage() Stage {
	in := []string{CleanItems, NormItems, NormInteractions}
	sections := []string{"data", "features"}
	return Stage{
		Name:   "features",
		Deps:   deps(in, code("features", "features")),
		Outs:   []string{FeatureItems, FeatureVocab, FeatureUsers, FeatureMeta},
		Params: sections,
		Run: func(env Env) error {
			p, err := env.Load()
			if err != nil {
				return err
			}
			l, err := env.Lineage(p, "features", sections, in...)
			if err != nil {
				return err
			}
			_, err = features.Run(features.Paths{
				InItems: env.Path(CleanItems), InNormItems: env.Path(NormItems), InInteractions: env.Path(NormInteractions),
				OutItems: env.Path(FeatureItems), OutVocab: env.Path(FeatureVocab), OutUsers: env.Path(FeatureUsers), Meta: env.Path(FeatureMeta),
			}, p.DomainNames(), p.Features, l)
			return err
		},
	}
}

func splitStage() Stage {
	in := []string{NormInteractions, FeatureItems}
	return Stage{
		Name:    "split",
		Deps:    deps(in, code("split", "split")),
		Outs:    []string{SplitInteractions},
		Metrics: []string{SplitReport},
		Params:  []string{"split"},
		Run: func(env Env) error {
			p, err := env.Load()
			if err != nil {
				return err
			}
			l, err := env.Lineage(p, "split", []string{"split"}, in...)
			if err != nil {
				return err
			}
			_, err = split.Run(split.Paths{
				InInteractions: env.Path(NormInteractions), InItems: env.Path(FeatureItems),
				OutInteractions: env.Path(SplitInteractions), Report: env.Path(SplitReport),
			}, p.Split, l)
			return err
		},
	}
}

func tasksStage() Stage {
	in := []string{SplitInteractions, FeatureItems, AlignItems}
	sections := []string{"data", "split", "tasks"}
	return Stage{
		Name:    "tasks",
		Deps:    deps(in, code("tasks", "tasks", "split")),
		Outs:    []string{TasksDir},
		Metrics: []string{TasksSummary},
		Params:  sections,
		Run: func(env Env) error {
			p, err := env.Load()
			if err != nil {
				return err
			}
			l, err := env.Lineage(p, "tasks", sections, in...)
			if err != nil {
				return err
			}
			_, err = tasks.Run(tasks.Paths{
				InSplit: env.Path(SplitInteractions), InFeatures: env.Path(FeatureItems), InAligned: env.Path(AlignItems),
				OutDir: env.Path(TasksDir), Summary: env.Path(TasksSummary),
			}, p.DomainNames(), p.Split, p.Tasks, l)
			return err
		},
	}
}
