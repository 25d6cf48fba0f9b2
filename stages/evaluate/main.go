// Command evaluate runs the evaluate stage of the pipeline; its contract
// (inputs, outputs, params) is declared in lib/pipeline and wired in dvc.yaml.
package main

import "github.com/crossrec/crossrec/lib/pipeline"

func main() { pipeline.Main("evaluate") }
