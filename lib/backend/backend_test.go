package backend

import (
	"bytes"
	"strings"
	"testing"
)

func TestDefaultIsPureGo(t *testing.T) {
	t.Setenv(Env, "")
	s, err := Select("")
	if err != nil {
		t.Fatal(err)
	}
	if s.Config != GoDefault || !strings.Contains(s.Backend.Name(), "(go)") {
		t.Fatalf("default backend: got %q (%s), want %q", s.Config, s.Backend.Name(), GoDefault)
	}
}

func TestEnvOverridesParam(t *testing.T) {
	t.Setenv(Env, "go:ops_sequential")
	s, err := Select("xla:cuda")
	if err != nil {
		t.Fatal(err)
	}
	if s.Config != "go:ops_sequential" {
		t.Fatalf("got %q, want the environment's go:ops_sequential", s.Config)
	}
}

func TestMissingBackendFallsBack(t *testing.T) {
	var w bytes.Buffer
	Warn = &w
	defer func() { Warn = nil }()
	t.Setenv(Env, "")
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	for _, want := range []string{"xla:cuda", "nosuch", "xla:/nonexistent/plugin.so"} {
		w.Reset()
		s, err := Select(want)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		if s.Config != GoDefault || s.Fallback == nil {
			t.Fatalf("%s: got %q fallback=%v, want a fallback to %q", want, s.Config, s.Fallback, GoDefault)
		}
		if !strings.Contains(w.String(), "falling back") {
			t.Fatalf("%s: no warning printed, got %q", want, w.String())
		}
	}
}

func TestBadGoOptionIsAnError(t *testing.T) {
	t.Setenv(Env, "")
	if _, err := Select("go:nosuchoption"); err == nil {
		t.Fatal("want an error for an unknown pure-Go option")
	}
}
