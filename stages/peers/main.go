// Command peers runs the peers stage of the pipeline: the strong peers
// tuned on meta-validation users. Its contract (inputs, outputs, params) is
// declared in lib/pipeline and wired in dvc.yaml.
package main

import "github.com/crossrec/crossrec/lib/pipeline"

func main() { pipeline.Main("peers") }
