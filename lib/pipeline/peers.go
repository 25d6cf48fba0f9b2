package pipeline

import (
	"fmt"
	"maps"
	"os"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/split"
)

// Paths of the peers stage.
const (
	PeerTuning = "artifacts/peers/tuning.json"
	// PeersCost holds each peer's search time: not a DVC output, since
	// times differ run to run.
	PeersCost = "metrics/peers_cost.json"
)

// peerParams are the params the peers' search reads: the split fixes the
// support size, evaluate.relevance what a hit is, evaluate.shrinkage_grid
// the user-bias baseline the error peers build on, evaluate.peers the
// grids. The rest of evaluate (the models, seeds, contrasts) does not
// re-tune the peers.
var peerParams = []string{"split", "evaluate.relevance", "evaluate.shrinkage_grid", "evaluate.peers"}

// peerInputs are the files the search reads, for lineage.
var peerInputs = []string{TasksDir + "/items.arrow", TasksDir + "/" + split.Train + ".arrow", TasksDir + "/" + split.Valid + ".arrow", Scalers}

// peersStage declares the peers' tuning: EASE, ItemKNN, RP3beta, PureSVD,
// MF fold-in and KNNBaseline searched per domain on meta-validation users
// (lib/eval peers.go). It reads no trained model, so retraining one
// re-runs only evaluate, which fits each peer at the setting chosen here.
func peersStage() Stage {
	return Stage{
		Name:   "peers",
		Deps:   deps([]string{TasksDir, Scalers}, code("peers", "eval", "baselines", "metrics", "recommend", "tasks", "normalize", "split")),
		Outs:   []string{PeerTuning},
		Params: peerParams,
		Run:    runPeers,
	}
}

func runPeers(env Env) error {
	_, cfg, l, err := evalStage(env, "peers", peerParams, func(*params.Params) []string { return peerInputs })
	if err != nil {
		return err
	}
	// No cross-domain pair: the search reads only train and valid users.
	d, err := eval.Load(env.Path(TasksDir), env.Path(Scalers), nil)
	if err != nil {
		return err
	}
	pt, secs, err := eval.TunePeers(d, cfg, os.Stderr)
	if err != nil {
		return err
	}
	pt.Lineage = l
	for _, dir := range []string{"artifacts/peers", "metrics"} {
		if err := os.MkdirAll(env.Path(dir), 0o755); err != nil {
			return fmt.Errorf("peers: %w", err)
		}
	}
	if err := eval.WritePeerTuning(env.Path(PeerTuning), pt); err != nil {
		return err
	}
	return artifact.WriteJSON(env.Path(PeersCost), map[string]any{"tune_seconds": secs})
}

// readPeerTuning reads the peers stage's output for evaluate and refuses
// one made from other task files or other params: fitted at stale
// settings, the peers would be scored at values validation never chose.
// inputs are evaluate's lineage inputs, which hash every file the peers
// read (peerInputs).
func readPeerTuning(env Env, p interface {
	Hash(...string) (string, error)
}, inputs map[string]string) (*eval.PeerTuning, error) {
	pt, err := eval.ReadPeerTuning(env.Path(PeerTuning))
	if err != nil {
		return nil, err
	}
	now := map[string]string{}
	for _, in := range peerInputs {
		h, ok := inputs[in]
		if !ok {
			return nil, fmt.Errorf("readPeerTuning: %s is not among evaluate's inputs", in)
		}
		now[in] = h
	}
	ph, err := p.Hash(peerParams...)
	if err != nil {
		return nil, err
	}
	if !maps.Equal(now, pt.Lineage.Inputs) || ph != pt.Lineage.ParamsSHA256 {
		return nil, fmt.Errorf("%s was tuned on other task files or params (%v) than these: run the peers stage again (dvc repro peers)", PeerTuning, peerParams)
	}
	return pt, nil
}
