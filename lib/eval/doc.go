// Package eval is the benchmark harness every model claim rests on: the
// cold-start, MeLU-state, cross-domain and leave-one-domain-out protocols,
// the baselines, the spread over seeds and the paired tests, and the
// evaluate stage's outputs. README.md beside this file states the protocol
// and the definitions.
//
// What makes the numbers trustworthy is enforced here, not assumed:
// held-out users are checked to be absent from every file the baselines fit
// or tune on; each user is ranked against the whole catalogue of the
// domain minus their support pool, never a sample; relevance comes from the
// data by a fixed rule per value kind; every scorer, baseline or trained,
// goes through the same engine with the same tie-breaking; and every output
// is byte-identical across runs.
package eval
