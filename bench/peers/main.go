// Command peers exports the evaluation's split and the Go peers' results
// for the cross-check against an established library
// (bench/peers/crosscheck.py, Cornac):
//
//	go run ./bench/peers -export /tmp/peers-export
//
// It reads the pipeline's artifacts (artifacts/tasks, the tuned settings
// in artifacts/evaluate/report.json), so run `dvc repro` first. For each
// domain it writes the training rows the peers fit on, the meta-test
// users of seed 1 at the default support size exactly as the evaluation
// draws them, and per-user NDCG@10 and fit time of EASE and ItemKNN at
// the tuned settings (and ItemKNN without shrinkage, the form Cornac's
// cosine can be compared with).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crossrec/crossrec/lib/baselines"
	"github.com/crossrec/crossrec/lib/eval"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/recommend"
)

func main() {
	out := flag.String("export", "", "folder to write the export to")
	root := flag.String("root", ".", "repository root (params.yaml, artifacts/)")
	seed := flag.Uint64("seed", 1, "evaluation seed of the held-out users' draw")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: peers -export DIR [-root .] [-seed 1]")
		os.Exit(2)
	}
	if err := run(*root, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

type runRecord struct {
	Peer     string             `json:"peer"`
	Params   map[string]float64 `json:"params"`
	FitSecs  float64            `json:"fit_seconds"`
	NDCG     []*float64         `json:"ndcg@10"`
	MeanNDCG float64            `json:"mean_ndcg@10"`
}

func run(root, out string, seed uint64) error {
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
	var report struct {
		Peers map[string]map[string]eval.PeerChoice `json:"peers"`
	}
	b, err := os.ReadFile(filepath.Join(root, "artifacts/evaluate/report.json"))
	if err != nil {
		return fmt.Errorf("the tuned settings: %w (run dvc repro first)", err)
	}
	if err := json.Unmarshal(b, &report); err != nil {
		return fmt.Errorf("artifacts/evaluate/report.json: %w", err)
	}
	catalogue := make([]int, len(d.Domains))
	for i, dom := range d.Domains {
		catalogue[i] = dom.Items
	}
	t, err := baselines.NewTrain(d.Train, catalogue)
	if err != nil {
		return err
	}
	var names []string
	for di, dom := range d.Domains {
		ease, okE := report.Peers[baselines.EASEName][dom.Name]
		knn, okK := report.Peers[baselines.ItemKNNName][dom.Name]
		if !okE || !okK {
			continue
		}
		names = append(names, dom.Name)
		dir := filepath.Join(out, dom.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		var csv strings.Builder
		csv.WriteString("user,item,value\n")
		for r, u := range t.Users[di] {
			fmt.Fprintf(&csv, "%d,%d,%s\n", u, t.ItemOf[di][r], strconv.FormatFloat(t.Norm[di][r], 'g', -1, 64))
		}
		if err := os.WriteFile(filepath.Join(dir, "train.csv"), []byte(csv.String()), 0o644); err != nil {
			return err
		}
		cases := eval.HeldOutCases(d, cfg, seed, dom.Name, cfg.SupportK)
		var lines strings.Builder
		for _, c := range cases {
			j, _ := json.Marshal(map[string]any{"user": c.User, "support": c.Support, "exclude": c.Exclude, "query": c.Query, "relevant": c.Relevant})
			lines.Write(j)
			lines.WriteString("\n")
		}
		if err := os.WriteFile(filepath.Join(dir, "cases.jsonl"), []byte(lines.String()), 0o644); err != nil {
			return err
		}
		var runs []runRecord
		record := func(peer string, params map[string]float64, fit func() (recommend.Scorer, error)) error {
			start := time.Now()
			sc, err := fit()
			if err != nil {
				return err
			}
			secs := time.Since(start).Seconds()
			nd, err := eval.NDCGPerUser(d, cfg, sc, cases)
			if err != nil {
				return err
			}
			rr := runRecord{Peer: peer, Params: params, FitSecs: secs}
			sum, n := 0.0, 0
			for _, v := range nd {
				if math.IsNaN(v) {
					rr.NDCG = append(rr.NDCG, nil)
					continue
				}
				v := v
				rr.NDCG = append(rr.NDCG, &v)
				sum += v
				n++
			}
			rr.MeanNDCG = sum / float64(max(n, 1))
			runs = append(runs, rr)
			fmt.Fprintf(os.Stderr, "%s %s %v: NDCG@10 %.4f, fit %.2fs\n", dom.Name, peer, params, rr.MeanNDCG, secs)
			return nil
		}
		lambda := ease.Params["lambda"]
		// min_count 0: the whole catalogue (EASE here leaves no item out).
		if err := record("ease", map[string]float64{"lambda": lambda, "min_count": 0}, func() (recommend.Scorer, error) {
			e := baselines.NewEASE(len(catalogue))
			return e, e.FitEASE(t, di, lambda)
		}); err != nil {
			return err
		}
		k := knn.Params["k"]
		for _, shrink := range []float64{knn.Params["shrink"], 0} {
			if err := record("itemknn", map[string]float64{"k": k, "shrink": shrink}, func() (recommend.Scorer, error) {
				m := baselines.NewItemKNN(len(catalogue))
				m.FitItemKNN(t, di, int(k), shrink)
				return m, nil
			}); err != nil {
				return err
			}
			if shrink == 0 {
				break
			}
		}
		j, _ := json.MarshalIndent(map[string]any{"items": dom.Items, "runs": runs}, "", " ")
		if err := os.WriteFile(filepath.Join(dir, "go.json"), j, 0o644); err != nil {
			return err
		}
	}
	j, _ := json.MarshalIndent(map[string]any{"seed": seed, "k": cfg.SupportK, "domains": names}, "", " ")
	return os.WriteFile(filepath.Join(out, "manifest.json"), j, 0o644)
}
