package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/normalize"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/serve"
	"github.com/crossrec/crossrec/lib/synth"
)

var (
	svcOnce sync.Once
	svc     *serve.Service
	svcErr  error
)

// testService is an NCF over a synthetic catalogue built in-process:
// dom0 rated in stars 0.5 to 5, dom1 in play counts. The tests replace
// open with it, so they need no artifacts.
func testService(t *testing.T) *serve.Service {
	t.Helper()
	svcOnce.Do(func() {
		items := synth.Items(1, 40, 30)
		cat, err := models.NewCatalog(items, nil)
		if err != nil {
			svcErr = err
			return
		}
		cfg := models.Config{Arch: models.NCF, ItemDim: 4, UserDim: 3, Hidden: [2]int{5, 4}, Encoder: true,
			InnerSteps: 2, InnerLR: 0.1, Rank: true, Shape: cat.Shape()}
		b, err := backends.NewWithConfig("go:parallelism=-1")
		if err != nil {
			svcErr = err
			return
		}
		m, err := models.NewModel("ncf-test", b, cfg, cfg.Init(1), items)
		if err != nil {
			svcErr = err
			return
		}
		path := filepath.Join(t.TempDir(), "scalers.parquet")
		w, err := artifact.Create[schema.Scaler](path, artifact.Lineage{Stage: "normalize"})
		if err != nil {
			svcErr = err
			return
		}
		w.Write([]schema.Scaler{
			{Domain: "dom0", Feature: "rating", Method: normalize.MinMax, Min: 0.5, Max: 5},
			{Domain: "dom1", Feature: "playcount", Method: normalize.Log1pMinMax, Min: math.Log1p(1), Max: math.Log1p(5000)},
		})
		if _, err := w.Close(); err != nil {
			svcErr = err
			return
		}
		svc, svcErr = serve.New(m, items, path)
	})
	if svcErr != nil {
		t.Fatal(svcErr)
	}
	return svc
}

// useService points open at the test service for one test.
func useService(t *testing.T) {
	s := testService(t)
	old := open
	open = func(root, model string) (*serve.Service, error) { return s, nil }
	t.Cleanup(func() { open = old })
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestOneShot(t *testing.T) {
	useService(t)
	code, out, stderr := runCmd("-domain", "dom0", "-rate", "d0i3=5, d0i7=1", "-n", "4")
	if code != 0 || strings.Count(out, "\n") != 5 || strings.Contains(out, "d0i3 ") || strings.Contains(out, "NaN") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = runCmd("-domain", "dom1", "-rate", "d1i0=12", "-n", "3", "-json")
	var resp serve.Response
	if code != 0 || json.Unmarshal([]byte(out), &resp) != nil || len(resp.Items) != 3 || resp.Items[0].Predicted == nil {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	// No ratings at all: the pure cold start.
	if code, out, stderr = runCmd("-domain", "dom1"); code != 0 || strings.Count(out, "\n") != 11 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
}

// TestBadCommandLines: every bad value exits 2 with a message naming the
// flag and the value, and prints no ranking.
func TestBadCommandLines(t *testing.T) {
	useService(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-rate", "d0i1=5"}, "-domain is required"},
		{[]string{"-domain", "films"}, `-domain: "films" is not served (have dom0, dom1)`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=NaN"}, `-rate "d0i1=NaN": NaN is not a finite number`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=nan"}, `-rate "d0i1=nan": NaN is not a finite number`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=Inf"}, `-rate "d0i1=Inf": +Inf is not a finite number`},
		{[]string{"-domain", "dom1", "-rate", "d1i1=-inf"}, `-rate "d1i1=-inf": -Inf is not a finite number`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=1e400"}, `-rate "d0i1=1e400": 1e400 is not a finite number`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=abc"}, `-rate "d0i1=abc": "abc" is not a number`},
		{[]string{"-domain", "dom0", "-rate", "d0i1"}, `-rate "d0i1": not item=value`},
		{[]string{"-domain", "dom0", "-rate", "=4"}, `-rate "=4": not item=value`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=5.5"}, `-rate "d0i1=5.5": 5.5 is outside the dom0 rating scale 0.5 to 5`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=4,d0i2=0"}, `-rate "d0i2=0": 0 is outside the dom0 rating scale 0.5 to 5`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=-3"}, `-rate "d0i1=-3": -3 is outside`},
		{[]string{"-domain", "dom1", "-rate", "d1i1=0"}, `-rate "d1i1=0": 0 is not a play count of dom1`},
		{[]string{"-domain", "dom1", "-rate", "d1i1=2e8"}, `-rate "d1i1=2e8": 2e+08 is not a play count of dom1`},
		{[]string{"-domain", "dom0", "-rate", "zzz=4"}, `-rate "zzz=4": "zzz" is not an item of dom0`},
		{[]string{"-domain", "dom0", "-rate", "d0i1=4,d0i1=5"}, `-rate "d0i1=5": "d0i1" is rated twice`},
		{[]string{"-domain", "dom0", "-rate", strings.Repeat("d0i1=4,", 101)}, "-rate: more than 100 ratings"},
		{[]string{"-domain", "dom0", "-n", "-1"}, "-n: -1 is not between 1 and 1000"},
		{[]string{"-domain", "dom0", "-n", "0"}, "-n: 0 is not between 1 and 1000"},
		{[]string{"-domain", "dom0", "-n", "99999999999"}, "-n: 99999999999 is not between 1 and 1000"},
		{[]string{"-domain", "dom0", "-n", "41"}, "-n: 41 is more than the 40 items of dom0"},
		{[]string{"-domain", "dom0", "-n", "99999999999999999999"}, `invalid value "99999999999999999999" for flag -n`},
		{[]string{"-domain", "dom0", "-n", "ten"}, `invalid value "ten" for flag -n`},
		{[]string{"-domain", "dom0", "-nosuch"}, "flag provided but not defined: -nosuch"},
		{[]string{"-domain", "dom0", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "-addr", "nonsense"}, `-addr "nonsense"`},
		{[]string{"serve", "-port", "1"}, "flag provided but not defined: -port"},
		{[]string{"serve", "stray"}, `unexpected argument "stray"`},
	} {
		code, out, stderr := runCmd(c.args...)
		if code != 2 || out != "" || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "panic") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, stderr, c.want)
		}
	}
}

// TestLoadFailure: a model that cannot be loaded is exit status 1 (not a
// usage error), and serve refuses to start.
func TestLoadFailure(t *testing.T) {
	old := open
	open = func(root, model string) (*serve.Service, error) {
		return nil, errors.New("weights.arrow: content hash mismatch")
	}
	t.Cleanup(func() { open = old })
	if code, _, stderr := runCmd("-domain", "dom0"); code != 1 || !strings.Contains(stderr, "content hash mismatch") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd("serve", "-addr", "127.0.0.1:0"); code != 1 || !strings.Contains(stderr, "refusing to start") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	open = serve.Open // the real loader on a folder with no artifacts
	if code, _, stderr := runCmd("-C", t.TempDir(), "-domain", "dom0"); code != 1 || !strings.Contains(stderr, "items.arrow") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestServe starts the serve subcommand on a free loopback port, asks it
// once, and stops it as SIGINT would (the context ends): exit status 0.
func TestServe(t *testing.T) {
	useService(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, pw, &stderr)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no start line; stderr %s", stderr.String())
	}
	first := lines.Text()
	_, url, ok := strings.Cut(first, " on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("start line %q", first)
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Post(url+"/recommend", "application/json", strings.NewReader(`{"domain": "dom0", "ratings": [{"item": "d0i1", "value": 4}], "n": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	var got serve.Response
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(got.Items) != 3 {
		t.Fatalf("%d %v %+v", resp.StatusCode, err, got)
	}
	resp, err = http.Post(url+"/recommend", "application/json", strings.NewReader(`{"domain": "dom0", "ratings": [{"item": "d0i1", "value": 9}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("bad rating: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}
