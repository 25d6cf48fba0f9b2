package pipeline

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCodeDepsAreClosedUnderImports checks every stage's declared code
// dependencies: each lib package a stage lists must have every lib package
// it imports (directly or not) listed too, or a change there would not
// re-run the stage. lib/pipeline is the exception: it wires all the stages,
// so it links packages a given stage never calls (the train stages do not
// run lib/eval); its own files are a dependency of every stage instead.
func TestCodeDepsAreClosedUnderImports(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	stages, err := Declarations(root)
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/crossrec/crossrec/"
	imports := map[string][]string{}
	importsOf := func(pkg string) []string {
		if got, ok := imports[pkg]; ok {
			return got
		}
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		var libs []string
		for _, line := range strings.Fields(string(out)) {
			if rel, ok := strings.CutPrefix(line, mod); ok && strings.HasPrefix(rel, "lib/") && rel != pkg {
				libs = append(libs, rel)
			}
		}
		imports[pkg] = libs
		return libs
	}
	checked := 0
	for _, s := range stages {
		for _, d := range s.Deps {
			if !strings.HasPrefix(d, "lib/") || strings.HasPrefix(d, "lib/pipeline") || filepath.Ext(d) != "" {
				continue
			}
			for _, imp := range importsOf(d) {
				if !slices.Contains(s.Deps, imp) {
					t.Errorf("stage %s: %s imports %s, which its deps do not list", s.Name, d, imp)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no lib dependency checked")
	}
}

// TestTrainPipelineFiles checks that the train stages list every file of
// lib/pipeline except those of the other stages: a new file there is a
// train dependency until it is named here as another stage's.
func TestTrainPipelineFiles(t *testing.T) {
	otherStages := []string{"align.go", "eda.go", "evaluate.go", "ingest.go", "main.go", "peers.go", "prep.go"}
	_, here, _, _ := runtime.Caller(0)
	files, err := filepath.Glob(filepath.Join(filepath.Dir(here), "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	deps := trainDeps()
	if slices.Contains(deps, "lib/pipeline") {
		t.Fatal("train deps list the whole of lib/pipeline")
	}
	n := 0
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, "_test.go") || slices.Contains(otherStages, base) {
			continue
		}
		n++
		if !slices.Contains(deps, "lib/pipeline/"+base) {
			t.Errorf("lib/pipeline/%s is neither a train dependency nor another stage's file", base)
		}
	}
	if n != len(trainPipelineFiles) {
		t.Errorf("train deps list %d files of lib/pipeline, the folder has %d", len(trainPipelineFiles), n)
	}
}

// TestStageFilesImportsAreDeps checks the lib packages a stage's own file
// in lib/pipeline imports: each must be one of the stage's deps (the
// closure test above then covers what they import). prep.go declares five
// stages that share its imports, so it is not checked this way.
func TestStageFilesImportsAreDeps(t *testing.T) {
	files := map[string][]string{ // stage name prefix -> its files
		"ingest": {"ingest.go"}, "align": {"align.go"}, "eda": {"eda.go"},
		"evaluate": {"evaluate.go"}, "peers": {"peers.go"}, "train@": {"train.go", "train_arch.go"},
	}
	_, here, _, _ := runtime.Caller(0)
	stages, err := Declarations(filepath.Join(filepath.Dir(here), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/crossrec/crossrec/"
	checked := map[string]bool{}
	for _, s := range stages {
		for prefix, fs := range files {
			if !strings.HasPrefix(s.Name, prefix) {
				continue
			}
			checked[prefix] = true
			for _, f := range fs {
				parsed, err := parser.ParseFile(token.NewFileSet(), filepath.Join(filepath.Dir(here), f), nil, parser.ImportsOnly)
				if err != nil {
					t.Fatal(err)
				}
				for _, imp := range parsed.Imports {
					path, _ := strconv.Unquote(imp.Path.Value)
					rel, ok := strings.CutPrefix(path, mod)
					if !ok || !strings.HasPrefix(rel, "lib/") {
						continue
					}
					if !slices.Contains(s.Deps, rel) {
						t.Errorf("stage %s: lib/pipeline/%s imports %s, which its deps do not list", s.Name, f, rel)
					}
				}
			}
		}
	}
	if len(checked) != len(files) {
		t.Errorf("stages checked: %v, want every prefix of %v", checked, files)
	}
}
