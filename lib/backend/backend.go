// Package backend chooses the GoMLX backend a run computes on.
//
// The pure-Go backend (simplego, "go") is the default because it needs no C
// library and no network, so training and serving work on any machine and
// in CI. XLA on CUDA is used when the user asks for it (GOMLX_BACKEND, or
// the train.backend param) or, in "auto" mode, when a CUDA PJRT plugin and
// an NVIDIA driver are found, including the plugin an installed JAX ships.
//
// GoMLX's own default (backends.New) picks XLA and, offline, panics while
// trying to download plugins; this package never calls it. Plugin
// auto-install is switched off, every constructor runs under recover, and a
// backend that cannot be built is reported with a clear message and
// replaced by the pure-Go one.
package backend

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // registers "go"
)

// Env is the environment variable that overrides the configured backend,
// GoMLX's own name for it, so users' habits carry over.
const Env = backends.ConfigEnvVar

// GoDefault is the pure-Go backend's configuration. Unlimited parallelism
// avoids the worker-pool deadlock seen on 2 cores when several matrix
// products wait for a free worker, and was also the fastest setting.
const GoDefault = "go:parallelism=-1"

// Auto asks Select to pick: XLA on CUDA where a plugin and a GPU are found,
// else the pure-Go backend.
const Auto = "auto"

// Selection is the outcome of Select: the backend and how it was chosen.
type Selection struct {
	Backend backends.Backend
	Config  string // configuration the backend was built with
	Reason  string // why this one, in words (for logs and reports)
	// Fallback holds the error of the backend that was asked for and could
	// not be built, when the pure-Go backend replaced it.
	Fallback error
}

// Warn is where Select reports a fallback; tests may redirect it.
var Warn io.Writer = os.Stderr

// Select builds the backend for want: "" or "auto" (environment first, then
// a CUDA plugin if one is usable, else pure Go), "go[:options]",
// "xla:cuda", "xla:cpu" or "xla:/abs/path/plugin.so". The environment
// variable GOMLX_BACKEND, when set, overrides want. A backend that cannot
// be built is replaced by the pure-Go one, with a message on Warn; only a
// failure of the pure-Go backend itself is an error.
func Select(want string) (*Selection, error) {
	reason := "requested"
	if env := strings.TrimSpace(os.Getenv(Env)); env != "" {
		want, reason = env, "from $"+Env
	}
	if want == "" || want == Auto {
		want, reason = autoConfig()
	}
	if want == "go" {
		want = GoDefault
	}
	b, err := build(want)
	if err == nil {
		return &Selection{Backend: b, Config: want, Reason: reason}, nil
	}
	if strings.HasPrefix(want, "go") {
		return nil, fmt.Errorf("backend %q: %w", want, err)
	}
	fmt.Fprintf(Warn, "backend: %q is not usable (%v); falling back to the pure-Go backend %q\n", want, err, GoDefault)
	b, gerr := build(GoDefault)
	if gerr != nil {
		return nil, fmt.Errorf("backend %q failed (%v), and the fallback %q failed too: %w", want, err, GoDefault, gerr)
	}
	return &Selection{Backend: b, Config: GoDefault, Reason: "fallback after " + reason + " " + want, Fallback: err}, nil
}

// build constructs one backend, turning a panic into an error and keeping
// the constructor's chatter (simplego prints its parallelism to stdout) off
// stdout, which the recommend command uses for its results.
func build(config string) (b backends.Backend, err error) {
	name, _, _ := strings.Cut(config, ":")
	if name == "xla" && !xlaCompiled {
		return nil, fmt.Errorf("this binary was built with the noxla tag; rebuild without it to use XLA")
	}
	if name == "xla" {
		prepareXLA(config)
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("panic while building backend: %v", r)
		}
	}()
	restore := muteStdout()
	defer restore()
	return backends.NewWithConfig(config)
}

// muteStdout points os.Stdout at /dev/null until the returned func runs.
func muteStdout() func() {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return func() {}
	}
	old := os.Stdout
	os.Stdout = null
	return func() { os.Stdout = old; null.Close() }
}

// autoConfig picks XLA on CUDA when a plugin and an NVIDIA driver are
// present and this binary has XLA, else the pure-Go backend.
func autoConfig() (config, reason string) {
	if !xlaCompiled {
		return GoDefault, "default (built without XLA)"
	}
	if !gpuPresent() {
		return GoDefault, "default (no NVIDIA GPU found)"
	}
	if p := FindCUDAPlugin(); p != "" {
		return "xla:" + p, "auto: CUDA PJRT plugin " + p
	}
	return GoDefault, "default (GPU found but no CUDA PJRT plugin)"
}

// gpuPresent reports whether an NVIDIA driver is loaded.
func gpuPresent() bool {
	for _, p := range []string{"/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/nvidia0"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// FindCUDAPlugin returns the absolute path of a CUDA PJRT plugin, or "":
// first pjrt_c_api_cuda_plugin.so in $PJRT_PLUGIN_LIBRARY_PATH and GoMLX's
// install folders, then the plugin a pip-installed JAX ships
// (jax_plugins/xla_cuda*/xla_cuda_plugin.so) in the usual site-packages.
func FindCUDAPlugin() string {
	var dirs []string
	if v := os.Getenv("PJRT_PLUGIN_LIBRARY_PATH"); v != "" {
		dirs = append(dirs, filepath.SplitList(v)...)
	}
	home, _ := os.UserHomeDir()
	dirs = append(dirs, "/usr/local/lib/go-xla", filepath.Join(home, ".local/lib/go-xla"))
	for _, d := range dirs {
		p := filepath.Join(d, "pjrt_c_api_cuda_plugin.so")
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	for _, site := range sitePackages(home) {
		matches, _ := filepath.Glob(filepath.Join(site, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so"))
		sort.Sort(sort.Reverse(sort.StringSlice(matches))) // newest CUDA major first
		if len(matches) > 0 {
			return matches[0]
		}
	}
	return ""
}

// sitePackages lists Python package folders worth searching, most specific
// (an active virtual environment) first.
func sitePackages(home string) []string {
	var pats []string
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		pats = append(pats, filepath.Join(v, "lib/python3*/site-packages"))
	}
	if v := os.Getenv("CONDA_PREFIX"); v != "" {
		pats = append(pats, filepath.Join(v, "lib/python3*/site-packages"))
	}
	pats = append(pats,
		filepath.Join(home, ".local/lib/python3*/site-packages"),
		filepath.Join(home, ".pyenv/versions/*/lib/python3*/site-packages"),
		"/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
		"/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages", "/opt/conda/lib/python3*/site-packages")
	var out []string
	for _, p := range pats {
		m, _ := filepath.Glob(p)
		out = append(out, m...)
	}
	return out
}

// prepareXLA sets the environment a CUDA plugin from a JAX install needs,
// where the user has not: go-xla otherwise points XLA_FLAGS at a path of
// its developers' machine when it sees JAX's nvidia/ folder beside the
// plugin.
func prepareXLA(config string) {
	setDefault := func(k, v string) {
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
		}
	}
	setDefault("GOPJRT_CUDA_CHECKS", "0")
	_, plugin, _ := strings.Cut(config, ":")
	plugin, _, _ = strings.Cut(plugin, ",")
	if !filepath.IsAbs(plugin) {
		return
	}
	// .../site-packages/jax_plugins/xla_cudaNN/xla_cuda_plugin.so
	site := filepath.Dir(filepath.Dir(filepath.Dir(plugin)))
	if nv, err := filepath.Glob(filepath.Join(site, "nvidia", "cu*")); err == nil && len(nv) > 0 {
		setDefault("XLA_FLAGS", "--xla_gpu_cuda_data_dir="+nv[len(nv)-1])
	}
}
