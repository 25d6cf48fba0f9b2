package pipeline

// All returns every stage declaration, in any order; dag validates dvc.yaml
// against it and runs it in-process.
//
// TODO-lead: placeholder added by the dag package author so dag/cmd/dag
// builds; replace with the real list of stage declarations.
func All() []Stage { return nil }
