// Command vae trains the Go Mult-VAE (lib/vae) at the cross-check's
// settings and scores the held-out users of a peers export
// (bench/peers), for the comparison with Cornac's VAE
// (bench/vae/crosscheck.py):
//
//	go run ./bench/peers -export /tmp/peers-export
//	go run ./bench/vae -export /tmp/peers-export -domains movies,douban_music
//	python3 bench/vae/crosscheck.py /tmp/peers-export bench/vae/results
//
// The users and their candidates are the export's (the evaluation's draw at
// seed 1 and the default support size); the training users are the
// meta-train users, the rows of the export's train.csv. Per domain and
// training seed it writes per-user NDCG@10 to <domain>/vae_go.json.
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
	"github.com/crossrec/crossrec/lib/backend"
	"github.com/crossrec/crossrec/lib/fastgrad"
	"github.com/crossrec/crossrec/lib/vae"
)

// settings are the cross-check's: Cornac's VAE mirrors its encoder in the
// decoder (latent -> hidden -> items), so the Go network is given the same
// hidden decoder layer; the rest is the paper's procedure, which the
// Python side reproduces with Cornac's module.
type settings struct {
	Hidden       int     `json:"hidden"`
	Latent       int     `json:"latent"`
	Dropout      float64 `json:"dropout"`
	BetaCap      float64 `json:"beta_cap"`
	AnnealEpochs int     `json:"anneal_epochs"`
	Epochs       int     `json:"epochs"`
	Batch        int     `json:"batch"`
	LR           float64 `json:"lr"`
}

type seedRun struct {
	Seed      uint64     `json:"seed"`
	Seconds   float64    `json:"train_seconds"`
	NDCG      []*float64 `json:"ndcg@10"`
	MeanNDCG  float64    `json:"mean_ndcg@10"`
	BestEpoch int        `json:"exported_epoch"`
}

func main() {
	out := flag.String("export", "", "a bench/peers export folder (per domain: train.csv, cases.jsonl)")
	root := flag.String("root", ".", "repository root (params.yaml, artifacts/)")
	doms := flag.String("domains", "movies,douban_book,douban_music", "domains to check, comma-separated")
	seeds := flag.Int("seeds", 3, "training seeds per domain (1..n)")
	s := settings{}
	flag.IntVar(&s.Hidden, "hidden", 128, "encoder hidden width (and the decoder's, as Cornac mirrors it)")
	flag.IntVar(&s.Latent, "latent", 64, "latent width")
	flag.Float64Var(&s.Dropout, "dropout", 0.5, "input dropout")
	flag.Float64Var(&s.BetaCap, "beta-cap", 0.2, "KL weight cap")
	flag.IntVar(&s.AnnealEpochs, "anneal-epochs", 20, "epochs over which the KL weight grows to the cap")
	flag.IntVar(&s.Epochs, "epochs", 30, "epochs")
	flag.IntVar(&s.Batch, "batch", 128, "users per update")
	flag.Float64Var(&s.LR, "lr", 1e-3, "Adam step size")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: vae -export DIR [-domains a,b] [-seeds 3] [settings flags]")
		os.Exit(2)
	}
	if err := run(*root, *out, strings.Split(*doms, ","), *seeds, s); err != nil {
		fmt.Fprintln(os.Stderr, "vae:", err)
		os.Exit(1)
	}
}

func run(root, out string, domains []string, nSeeds int, s settings) error {
	x, err := xcheck.Open(root, out)
	if err != nil {
		return err
	}
	if err := fastgrad.Register(); err != nil {
		return err
	}
	sel, err := backend.Select("go")
	if err != nil {
		return err
	}
	for _, name := range domains {
		d, err := x.Domain(name)
		if err != nil {
			return err
		}
		var runs []seedRun
		for seed := uint64(1); seed <= uint64(nSeeds); seed++ {
			o := vae.Options{Hidden: s.Hidden, Latent: s.Latent, DecoderHidden: s.Hidden, Dropout: s.Dropout, BetaCap: s.BetaCap,
				AnnealEpochs: s.AnnealEpochs, Epochs: s.Epochs, Batch: s.Batch, LR: s.LR, EvalEvery: s.Epochs, SupportK: x.Cfg.SupportK, Seed: seed}
			start := time.Now()
			res, err := vae.Train(sel.Backend, d.Items, d.Train, d.Valid, o)
			if err != nil {
				return fmt.Errorf("%s seed %d: %w", name, seed, err)
			}
			secs := time.Since(start).Seconds()
			m, err := vae.NewModel("vae", res.Config, res.Weights)
			if err != nil {
				return err
			}
			nd, mean, err := x.NDCG(d, m)
			if err != nil {
				return err
			}
			r := seedRun{Seed: seed, Seconds: secs, BestEpoch: res.BestEpoch[name], NDCG: nd, MeanNDCG: mean}
			fmt.Fprintf(os.Stderr, "%s seed %d: NDCG@10 %.4f (exported epoch %d), trained in %.1fs\n", name, seed, r.MeanNDCG, r.BestEpoch, secs)
			runs = append(runs, r)
		}
		j, _ := json.MarshalIndent(map[string]any{"settings": s, "users": len(d.Cases), "runs": runs}, "", " ")
		if err := os.WriteFile(filepath.Join(out, name, "vae_go.json"), j, 0o644); err != nil {
			return err
		}
	}
	return nil
}
