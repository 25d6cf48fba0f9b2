package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/params"
)

// fixedHash stands in for params.yaml: the hash of whatever is asked.
type fixedHash string

func (h fixedHash) Hash(...string) (string, error) { return string(h), nil }

// TestReadPeerTuningRefusesAStaleTuning: evaluate takes the peers
// stage's tuning only while the task files and the params it was tuned on
// are those of the run; a changed validation file or grid is refused with
// the command that refreshes it.
func TestReadPeerTuningRefusesAStaleTuning(t *testing.T) {
	env := Env{Root: t.TempDir()}
	for _, in := range peerInputs {
		if err := os.MkdirAll(filepath.Dir(env.Path(in)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(env.Path(in), []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := artifact.Lineage{Stage: "peers", Inputs: map[string]string{}, ParamsSections: peerParams, ParamsSHA256: "p1"}
	for _, in := range peerInputs {
		h, err := artifact.InputHash(env.Path(in))
		if err != nil {
			t.Fatal(err)
		}
		l.Inputs[in] = h
	}
	pt := &eval.PeerTuning{Lineage: l, Peers: map[string]map[string]eval.PeerChoice{"ease": {}}}
	if err := os.MkdirAll(filepath.Dir(env.Path(PeerTuning)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := eval.WritePeerTuning(env.Path(PeerTuning), pt); err != nil {
		t.Fatal(err)
	}
	// What evaluate's lineage hashes: its task files, the scalers and the
	// tuning; the peers' inputs must be among them.
	evalInputs := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, in := range append(evalTaskFiles(&params.Params{}), Scalers) {
			if h, err := artifact.InputHash(env.Path(in)); err == nil {
				out[in] = h
			}
		}
		return out
	}
	if _, err := readPeerTuning(env, fixedHash("p1"), evalInputs()); err != nil {
		t.Fatalf("a current tuning refused: %v", err)
	}
	if _, err := readPeerTuning(env, fixedHash("p1"), map[string]string{}); err == nil || !strings.Contains(err.Error(), "not among evaluate's inputs") {
		t.Errorf("inputs without the peers' files: got %v", err)
	}
	stale := func(what string, h fixedHash) {
		t.Helper()
		_, err := readPeerTuning(env, h, evalInputs())
		if err == nil || !strings.Contains(err.Error(), "dvc repro peers") {
			t.Errorf("%s: got %v, want a refusal naming dvc repro peers", what, err)
		}
	}
	stale("other params", "p2")
	valid := env.Path(peerInputs[2])
	if err := os.WriteFile(valid, []byte("other users"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale("other validation users", "p1")
	if err := os.Remove(env.Path(PeerTuning)); err != nil {
		t.Fatal(err)
	}
	stale("no tuning", "p1")
}
