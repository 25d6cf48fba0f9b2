// Package dag is the pipeline graph in Go. It reads dvc.yaml (the graph users
// edit), checks it against the contracts the stage programs declare as
// pipeline.Stage values, orders the stages, and runs them in-process where
// DVC is absent (tests, or users without Python).
//
// dvc.yaml stays the one source of truth for the graph; the declarations are
// the one source of truth for what each program reads and writes. Validate
// exists because the two are written by hand in different places: it reports
// every disagreement at once, naming the stage and the field, so a renamed
// artifact or a forgotten params section is caught by `go test` instead of by
// a stale `dvc repro`.
//
// # foreach and matrix stages
//
// Groups are expanded exactly as DVC names them, and each expanded stage is
// matched to the declaration with the same name: "train@maml" for a foreach
// over [maml, reptile], "train@maml-1" for a matrix over {model: [maml],
// seed: [1]}, "train@0" for a foreach over a list of maps. The program for
// every member of a group is stages/<group>/main.go. Declarations never hold
// ${...} templates: the declared paths are the expanded ones, so a
// declaration reads like the dvc.lock entry DVC writes for the same stage.
//
// # Skipping unchanged stages
//
// Run keeps its own lock file (LockFile, JSON) recording, per stage, the
// sha256 of every dep, of every params section read and of every output.
// Like `dvc repro`, a stage runs again when any of them changed or an output
// is missing; an unchanged stage is skipped. The lock is separate from
// dvc.lock so in-process runs never disturb what DVC records.
package dag
