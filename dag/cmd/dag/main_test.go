package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/pipeline"
)

// repo writes a two-stage repository and returns its root and declarations.
func repo(t *testing.T) (string, func(string) ([]pipeline.Stage, error)) {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"dvc.yaml": `stages:
  a:
    cmd: go run ./stages/a
    deps: [in.txt]
    outs: [artifacts/a.txt]
  b:
    cmd: go run ./stages/b
    deps: [artifacts/a.txt]
    outs: [artifacts/b.txt]
`,
		"in.txt":           "x",
		"stages/a/main.go": "package main\n",
		"stages/b/main.go": "package main\n",
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile := func(from, to string) func(pipeline.Env) error {
		return func(env pipeline.Env) error {
			b, err := os.ReadFile(filepath.Join(env.Root, from))
			if err != nil {
				return err
			}
			os.MkdirAll(filepath.Join(env.Root, "artifacts"), 0o755)
			return os.WriteFile(filepath.Join(env.Root, to), b, 0o644)
		}
	}
	return root, func(string) ([]pipeline.Stage, error) {
		return []pipeline.Stage{
			{Name: "a", Deps: []string{"in.txt"}, Outs: []string{"artifacts/a.txt"}, Run: copyFile("in.txt", "artifacts/a.txt")},
			{Name: "b", Deps: []string{"artifacts/a.txt"}, Outs: []string{"artifacts/b.txt"}, Run: copyFile("artifacts/a.txt", "artifacts/b.txt")},
		}, nil
	}
}

func call(t *testing.T, stages func(string) ([]pipeline.Stage, error), args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, stages, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	root, stages := repo(t)
	cases := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"-C", root, "validate"}, 0, "consistent", ""},
		{[]string{"-C", root, "plan"}, 0, "a\nb\n", ""},
		{[]string{"-C", root, "plan", "a"}, 0, "a\n", ""},
		{[]string{"-C", root, "plan", "zz"}, 1, "", `no stage or group named "zz"`},
		{[]string{"-C", root, "run"}, 0, "ran a\nran b\n", ""},
		{[]string{"-C", root, "run"}, 0, "everything is up to date\n", ""},
		{[]string{"-C", root}, 2, "", "usage"},
		{[]string{"-C", root, "frobnicate"}, 2, "", "usage"},
		{[]string{"-C", t.TempDir(), "validate"}, 1, "", "dvc.yaml: no such file"},
	}
	for _, c := range cases {
		code, out, errOut := call(t, stages, c.args...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
			t.Errorf("dag %q: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
				c.args[2:], code, out, errOut, c.code, c.out, c.err)
		}
	}
}

func TestValidateFailsListingEveryProblem(t *testing.T) {
	root, stages := repo(t)
	os.Remove(filepath.Join(root, "in.txt"))
	broken := func(root string) ([]pipeline.Stage, error) {
		s, _ := stages(root)
		s[1].Outs = nil
		return s, nil
	}
	code, _, errOut := call(t, broken, "-C", root, "validate")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"dag: 2 problems:",
		`dvc.yaml: stage "a": deps: "in.txt" does not exist and no stage writes it`,
		`dvc.yaml: stage "b": outs: "artifacts/b.txt" is not declared by the program`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}
