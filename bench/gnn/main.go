// Command gnn trains the Go LightGCN (lib/gnn) at the pipeline's settings
// (params train.gnn) on single domains and scores the held-out users of a
// bench/peers export, for the comparison with PyTorch Geometric's LightGCN
// (bench/gnn/crosscheck.py):
//
//	go run ./bench/peers -export /tmp/peers-export
//	go run ./bench/gnn -export /tmp/peers-export -domains movies,music
//	python3 bench/gnn/crosscheck.py /tmp/peers-export bench/gnn/results
//
// Per domain and training seed it writes per-user NDCG@10 to
// <domain>/gnn_go.json, with the settings, which the Python side reads.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crossrec/crossrec/bench/xcheck"
	"github.com/crossrec/crossrec/lib/gnn"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/pipeline"
)

type seedRun struct {
	Seed      uint64     `json:"seed"`
	Seconds   float64    `json:"train_seconds"`
	NDCG      []*float64 `json:"ndcg@10"`
	MeanNDCG  float64    `json:"mean_ndcg@10"`
	BestEpoch int        `json:"exported_epoch"`
}

func main() {
	out := flag.String("export", "", "a bench/peers export folder")
	root := flag.String("root", ".", "repository root (params.yaml, artifacts/)")
	doms := flag.String("domains", "movies,music", "domains to check, comma-separated (each trained as a graph of its own)")
	seeds := flag.Int("seeds", 3, "training seeds per domain (1..n)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gnn -export DIR [-domains a,b] [-seeds 3]")
		os.Exit(2)
	}
	if err := run(*root, *out, strings.Split(*doms, ","), *seeds); err != nil {
		fmt.Fprintln(os.Stderr, "gnn:", err)
		os.Exit(1)
	}
}

func run(root, out string, domains []string, nSeeds int) error {
	p, err := params.Load(filepath.Join(root, "params.yaml"))
	if err != nil {
		return err
	}
	x, err := xcheck.Open(root, out)
	if err != nil {
		return err
	}
	for _, name := range domains {
		d, err := x.Domain(name)
		if err != nil {
			return err
		}
		var runs []seedRun
		var o gnn.Options
		for seed := uint64(1); seed <= uint64(nSeeds); seed++ {
			// The epoch is fixed (no selection), as the Python side trains.
			o = pipeline.GNNOptions(p.Train.GNN, seed, x.Cfg.SupportK)
			o.EvalEvery = o.Epochs
			start := time.Now()
			res, err := gnn.Train(d.Items, d.Train, d.Valid, o)
			if err != nil {
				return fmt.Errorf("%s seed %d: %w", name, seed, err)
			}
			secs := time.Since(start).Seconds()
			m, err := gnn.NewModel("gnn", res.Config, res.Weights)
			if err != nil {
				return err
			}
			nd, mean, err := x.NDCG(d, m)
			if err != nil {
				return err
			}
			r := seedRun{Seed: seed, Seconds: secs, BestEpoch: res.BestEpoch[name], NDCG: nd, MeanNDCG: mean}
			fmt.Fprintf(os.Stderr, "%s seed %d: NDCG@10 %.4f (exported epoch %d), trained in %.1fs\n", name, seed, mean, r.BestEpoch, secs)
			runs = append(runs, r)
		}
		s := map[string]any{"dim": o.Dim, "layers": o.Layers, "epochs": o.Epochs, "batch": o.Batch, "lr": o.LR, "l2": o.L2, "user_embeddings": o.UserEmbeddings}
		j, _ := json.MarshalIndent(map[string]any{"settings": s, "users": len(d.Cases), "runs": runs}, "", " ")
		if err := os.WriteFile(filepath.Join(out, name, "gnn_go.json"), j, 0o644); err != nil {
			return err
		}
	}
	return nil
}
