package pipeline

import "errors"

func edaStage() Stage {
	in := []string{CleanInteractions, CleanItems, AlignItems}
	return Stage{
		Name:   "eda",
		Deps:   deps(in, code("eda", "eda")),
		Outs:   []string{EDAStats},
		Params: []string{"eda"},
		Run:    func(env Env) error { return errors.New("eda: not wired yet") },
	}
}
