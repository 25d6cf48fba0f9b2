package eval

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
)

var smallPeers = params.EvaluatePeers{
	EASE:        params.PeerEASE{Lambda: []float64{5, 50, 500}},
	ItemKNN:     params.PeerItemKNN{K: []int{5, 20}, Shrink: []float64{0, 10}},
	RP3beta:     params.PeerRP3beta{Alpha: []float64{0.5, 1}, Beta: []float64{0, 0.4}, K: []int{20}},
	PureSVD:     params.PeerPureSVD{Factors: []int{4, 16}},
	MF:          params.PeerMF{Factors: []int{2, 4}, Lambda: []float64{1, 10}},
	KNNBaseline: params.PeerKNNBaseline{K: []int{5}, Shrink: []float64{10}, Alpha: []float64{0, 1}},
}

func runPeers(t *testing.T, d *Data, cfg Config, dir string) map[string]any {
	t.Helper()
	cfg.Peers = smallPeers
	if err := RunData(d, outPaths(dir), cfg, Options{Lineage: artifact.Lineage{Stage: "evaluate"}}); err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestPeersAreScoredAndTunedOnValidationUsersOnly: every peer gets a row
// with its metrics (error metrics only for the error peers) and a chosen
// setting; the choices do not move when the test users' ratings are
// scrambled, while their metrics do; the best-model-vs-best-reference
// tests are written.
func TestPeersAreScoredAndTunedOnValidationUsersOnly(t *testing.T) {
	w := newWorld(120)
	d := w.data(t, 150, 40)
	a, b := t.TempDir(), t.TempDir()
	repA := runPeers(t, d, w.cfg, a)
	// Scramble the test users' values: relevance and errors change.
	for i := range d.Test {
		for j := range d.Test[i].Query {
			q := &d.Test[i].Query[j]
			q.Raw, q.Norm = 6-q.Raw, 1-q.Norm
		}
	}
	repB := runPeers(t, d, w.cfg, b)
	pa, _ := json.Marshal(repA["peers"])
	pb, _ := json.Marshal(repB["peers"])
	if !bytes.Equal(pa, pb) || len(pa) < 100 {
		t.Errorf("peer choices depend on test users (or are missing):\n%s\n%s", pa, pb)
	}
	raw, _ := os.ReadFile(filepath.Join(a, "evaluate.json"))
	var tables map[string]json.RawMessage
	json.Unmarshal(raw, &tables)
	var dom map[string]map[string]float64
	if err := json.Unmarshal(tables["d"], &dom); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ease", "itemknn", "rp3beta", "puresvd", "mf-foldin", "knn-baseline"} {
		row, ok := dom[name]
		if !ok || !(row["ndcg@10"] > 0) {
			t.Errorf("%s: row %v", name, row)
			continue
		}
		_, hasMAE := row["mae"]
		if want := name == "mf-foldin" || name == "knn-baseline"; hasMAE != want {
			t.Errorf("%s: error metrics present %v, want %v", name, hasMAE, want)
		}
	}
	// Items are drawn with a popularity skew in this world: EASE must
	// find it (about 2.2x chance measured).
	if dom["ease"]["ndcg@10"] < 1.5*dom["chance"]["ndcg@10"] {
		t.Errorf("ease NDCG@10 %g, chance %g", dom["ease"]["ndcg@10"], dom["chance"]["ndcg@10"])
	}
	raw, _ = os.ReadFile(filepath.Join(a, "compare.json"))
	var cmp map[string]map[string]map[string]any
	json.Unmarshal(raw, &cmp)
	if _, ok := cmp["d"]["user-bias vs ease"]; !ok {
		t.Errorf("no paired test between a peer and a baseline: %v", keys(cmp["d"]))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
