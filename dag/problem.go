package dag

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with dvc.yaml, located as precisely as the
// check allows so the user can go straight to it. Parse and Validate return
// every problem they find joined with errors.Join; each joined error is a
// *Problem. (A YAML syntax error is the exception: it stops Parse at once,
// as a plain error with the line yaml.v3 reports.)
type Problem struct {
	File  string // the pipeline file, "dvc.yaml"
	Line  int    // 1-based line of the offending node; 0 when the whole stage is meant
	Stage string // stage name as expanded ("train@maml"); "" for file-level problems
	Field string // "deps", "outs", "params", ...; "" when the stage as a whole is meant
	Msg   string
}

// Error formats the problem as `dvc.yaml:12: stage "split": deps: msg`.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Stage != "" {
		fmt.Fprintf(&b, "stage %q: ", p.Stage)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// problems collects Problems for one file.
type problems struct {
	file string
	list []error
}

func (ps *problems) add(line int, stage, field, format string, args ...any) {
	ps.list = append(ps.list, &Problem{File: ps.file, Line: line, Stage: stage, Field: field, Msg: fmt.Sprintf(format, args...)})
}
