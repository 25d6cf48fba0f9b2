package eval

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
)

// TestPeerTuningFileScoresAsTuningInPlace: the peers stage's tuning,
// written and read back, makes evaluate write the same tables and report
// as searching in place; a tuning off the grid, missing a domain or naming
// a peer without a grid is refused.
func TestPeerTuningFileScoresAsTuningInPlace(t *testing.T) {
	w := newWorld(120)
	d := w.data(t, 150, 40)
	cfg := w.cfg
	cfg.Peers = smallPeers
	inPlace, fromFile := t.TempDir(), t.TempDir()
	if err := RunData(d, outPaths(inPlace), cfg, Options{Lineage: artifact.Lineage{Stage: "evaluate"}}); err != nil {
		t.Fatal(err)
	}
	pt, secs, err := TunePeers(d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != 6 || len(pt.Peers) != 6 {
		t.Fatalf("tuned %d peers, timed %d, want 6", len(pt.Peers), len(secs))
	}
	pt.Lineage = artifact.Lineage{Stage: "peers", Inputs: map[string]string{"x": "y"}}
	path := filepath.Join(t.TempDir(), "tuning.json")
	if err := WritePeerTuning(path, pt); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPeerTuning(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := RunData(d, outPaths(fromFile), cfg, Options{Lineage: artifact.Lineage{Stage: "evaluate"}, Peers: back}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"evaluate.json", "report.json", "compare.json", "predictions.parquet"} {
		a, _ := os.ReadFile(filepath.Join(inPlace, f))
		b, _ := os.ReadFile(filepath.Join(fromFile, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between tuning in place and the peers stage's tuning (%d and %d bytes)", f, len(a), len(b))
		}
	}

	refused := func(what, want string, edit func(pt *PeerTuning)) {
		t.Helper()
		bad, _ := ReadPeerTuning(path)
		edit(bad)
		err := RunData(d, outPaths(t.TempDir()), cfg, Options{Lineage: artifact.Lineage{Stage: "evaluate"}, Peers: bad})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", what, err, want)
		}
	}
	refused("off the grid", "not on params evaluate.peers' grid", func(pt *PeerTuning) {
		ch := pt.Peers["ease"]["d"]
		ch.Params = map[string]float64{"lambda": 7}
		pt.Peers["ease"]["d"] = ch
	})
	refused("a domain missing", "peer puresvd on d: no tuned setting", func(pt *PeerTuning) { delete(pt.Peers["puresvd"], "d") })
	refused("a peer without a grid", "peer nope: tuned, but params evaluate.peers gives it no grid", func(pt *PeerTuning) {
		pt.Peers["nope"] = map[string]PeerChoice{}
	})
	refused("a domain the task files lack", `peer ease: a setting for "nowhere", which is not a domain of the task files`, func(pt *PeerTuning) {
		pt.Peers["ease"]["nowhere"] = pt.Peers["ease"]["d"]
	})

	if err := os.WriteFile(path, []byte(`{"peers": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPeerTuning(path); err == nil || !strings.Contains(err.Error(), "not written by the peers stage") {
		t.Errorf("a file without lineage: got %v", err)
	}
}
