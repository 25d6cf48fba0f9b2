package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/baselines"
)

// PeerTuning is the peers stage's output: for each strong peer and domain,
// the setting chosen on meta-validation users. The evaluate stage fits the
// peers at these settings instead of searching again, so a retrained model
// re-scores without re-tuning peers it does not touch.
type PeerTuning struct {
	Lineage artifact.Lineage                 `json:"lineage"`
	Peers   map[string]map[string]PeerChoice `json:"peers"` // peer -> domain -> choice
}

// TunePeers runs the peers' search of the evaluation on d's
// meta-validation users (the baselines' shrinkage tuned first, as the
// error peers build on the user-bias baseline). It returns the tuning and
// each peer's search time in seconds (not part of the tuning: times differ
// run to run).
func TunePeers(d *Data, cfg Config, log io.Writer) (*PeerTuning, map[string]float64, error) {
	start := time.Now()
	r := newRunner(d, cfg)
	r.log, r.logPrefix = log, "peers: "
	shrink, _, err := tune(d, &r.cfg)
	if err != nil {
		return nil, nil, err
	}
	catalogue := make([]int, len(d.Domains))
	for i, dom := range d.Domains {
		catalogue[i] = dom.Items
	}
	base, err := FitBaselines(d.Train, catalogue, shrink)
	if err != nil {
		return nil, nil, err
	}
	t, err := baselines.NewTrain(d.Train, catalogue)
	if err != nil {
		return nil, nil, err
	}
	r.logf("baselines tuned in %.1fs", time.Since(start).Seconds())
	choices, secs, err := r.searchPeers(base.UserBias, t)
	if err != nil {
		return nil, nil, err
	}
	return &PeerTuning{Peers: choices}, secs, nil
}

// WritePeerTuning writes a tuning as indented JSON (map keys sorted, so
// the same tuning gives the same bytes), atomically.
func WritePeerTuning(path string, pt *PeerTuning) error {
	return artifact.WriteJSON(path, pt)
}

// ReadPeerTuning reads a tuning WritePeerTuning wrote.
func ReadPeerTuning(path string) (*PeerTuning, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("peer tuning: %w (run the peers stage: dvc repro peers)", err)
	}
	var pt PeerTuning
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pt); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if pt.Lineage.Stage == "" || pt.Peers == nil {
		return nil, fmt.Errorf("%s: no lineage or no peers: not written by the peers stage", path)
	}
	return &pt, nil
}
