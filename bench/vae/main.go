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
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/crossrec/crossrec/lib/backend"
	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/fastgrad"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/tasks"
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
	p, err := params.Load(filepath.Join(root, "params.yaml"))
	if err != nil {
		return err
	}
	cfg, err := eval.ConfigFrom(p)
	if err != nil {
		return err
	}
	d, err := eval.Load(filepath.Join(root, "artifacts/tasks"), filepath.Join(root, "artifacts/normalize/scalers.parquet"), cfg.CrossPairs)
	if err != nil {
		return err
	}
	var manifest struct {
		Seed uint64 `json:"seed"`
		K    int    `json:"k"`
	}
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		return fmt.Errorf("%w (run go run ./bench/peers -export %s first)", err, out)
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(out, "manifest.json"), err)
	}
	if err := fastgrad.Register(); err != nil {
		return err
	}
	sel, err := backend.Select("go")
	if err != nil {
		return err
	}
	for _, name := range domains {
		di := slices.IndexFunc(d.Domains, func(x eval.Domain) bool { return x.Name == name })
		if di < 0 {
			return fmt.Errorf("no domain %q", name)
		}
		// One domain's episodes only: the trainer fits every domain it is
		// given, and the others are not checked.
		only := func(eps []tasks.Episode) []tasks.Episode {
			var o []tasks.Episode
			for _, e := range eps {
				if int(e.DomainIndex) == di {
					e.DomainIndex = 0
					o = append(o, e)
				}
			}
			return o
		}
		items := &tasks.ItemTable{Domains: []tasks.ItemDomain{d.Items.Domains[di]}}
		cases := eval.HeldOutCases(d, cfg, manifest.Seed, name, manifest.K)
		var runs []seedRun
		for seed := uint64(1); seed <= uint64(nSeeds); seed++ {
			o := vae.Options{Hidden: s.Hidden, Latent: s.Latent, DecoderHidden: s.Hidden, Dropout: s.Dropout, BetaCap: s.BetaCap,
				AnnealEpochs: s.AnnealEpochs, Epochs: s.Epochs, Batch: s.Batch, LR: s.LR, EvalEvery: s.Epochs, SupportK: cfg.SupportK, Seed: seed}
			start := time.Now()
			res, err := vae.Train(sel.Backend, items, only(d.Train), only(d.Valid), o)
			if err != nil {
				return fmt.Errorf("%s seed %d: %w", name, seed, err)
			}
			secs := time.Since(start).Seconds()
			m, err := vae.NewModel("vae", res.Config, res.Weights)
			if err != nil {
				return err
			}
			nd, err := eval.NDCGPerUser(d, cfg, &domainShift{m: m, domain: int32(di)}, cases)
			if err != nil {
				return err
			}
			r := seedRun{Seed: seed, Seconds: secs, BestEpoch: res.BestEpoch[name]}
			sum, n := 0.0, 0
			for _, v := range nd {
				if math.IsNaN(v) {
					r.NDCG = append(r.NDCG, nil)
					continue
				}
				r.NDCG = append(r.NDCG, &v)
				sum += v
				n++
			}
			r.MeanNDCG = sum / float64(max(n, 1))
			fmt.Fprintf(os.Stderr, "%s seed %d: NDCG@10 %.4f (exported epoch %d), trained in %.1fs\n", name, seed, r.MeanNDCG, r.BestEpoch, secs)
			runs = append(runs, r)
		}
		j, _ := json.MarshalIndent(map[string]any{"settings": s, "users": len(cases), "runs": runs}, "", " ")
		if err := os.WriteFile(filepath.Join(out, name, "vae_go.json"), j, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// domainShift scores domain `domain` of the evaluation's data with a model
// trained on that domain alone (its domain 0).
type domainShift struct {
	m      *vae.Model
	domain int32
}

func (s *domainShift) Name() string { return s.m.Name() }

func (s *domainShift) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	if domain != s.domain {
		return nil, fmt.Errorf("asked for domain %d, trained on %d", domain, s.domain)
	}
	return s.m.Score(0, support, cands)
}

func (s *domainShift) RankingOnly() bool { return true }
