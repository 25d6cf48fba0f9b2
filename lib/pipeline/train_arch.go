package pipeline

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/gnn"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/vae"
)

// The runs of architectures with their own trainer (lib/vae, lib/gnn):
// the same stage contract as the meta-learners' (one export per seed under
// artifacts/models/<name>/, a training curve whose last column `dvc plots
// show` draws, a metrics summary, resumable checkpoints), another trainer.

// archSeed is what one seed's training hands back to runArch.
type archSeed struct {
	save    func(dir string) error // writes the export into dir
	rows    [][]string             // curve rows, after the seed column
	summary any                    // metrics/train/<name>.json's entry for the seed
}

// runArch trains every seed with train and writes the stage's outputs.
func runArch(env Env, p *params.Params, name, arch string, l artifact.Lineage, header []string, train func(seed uint64, checkpointDir, tag string) (*archSeed, error)) error {
	stage := "train@" + name
	run := p.Train.Models[name]
	if run.ExcludeDomain != "" {
		return fmt.Errorf("train.models.%s: a %s run takes no exclude_domain", name, arch)
	}
	if run.Method != "" && arch != vae.Arch {
		return fmt.Errorf("train.models.%s: method %q: a %s run takes none", name, run.Method, arch)
	}
	tmp := env.Path(ModelsDir + "/." + name + ".tmp")
	os.RemoveAll(tmp)
	defer os.RemoveAll(tmp)
	tag := checkpointTag(l)
	build, err := executableDigest()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: checkpoints off (%v): every seed trains from the start\n", stage, err)
	}
	tag += build
	perSeed := map[string]any{}
	var rows [][]string
	for _, seed := range p.Train.Seeds {
		ckpt := ""
		if build != "" {
			ckpt = env.Path(fmt.Sprintf("%s/%s/%s%d", CheckpointsDir, name, models.SeedPrefix, seed))
		}
		fmt.Fprintf(os.Stderr, "%s: seed %d\n", stage, seed)
		r, err := train(seed, ckpt, tag)
		if err != nil {
			return fmt.Errorf("%s seed %d: %w", stage, seed, err)
		}
		if err := r.save(filepath.Join(tmp, fmt.Sprintf("%s%d", models.SeedPrefix, seed))); err != nil {
			return err
		}
		for _, row := range r.rows {
			rows = append(rows, append([]string{strconv.FormatUint(seed, 10)}, row...))
		}
		perSeed[strconv.FormatUint(seed, 10)] = r.summary
	}
	out := env.Path(ModelsDir + "/" + name)
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	if err := writeCurve(env.Path(TrainPlotsDir+"/"+name+".csv"), header, rows); err != nil {
		return err
	}
	return artifact.WriteJSON(env.Path(TrainMetrics+"/"+name+".json"), map[string]any{"model": name, "arch": arch, "seeds": perSeed})
}

// VAEOptions turns params train.vae and a run's method into one run's
// options: no method is the paper's Mult-VAE, joint, maml and finetune the
// runs that start from it (lib/vae meta.go). supportKs are their episodes'
// support sizes (train.support_ks).
func VAEOptions(v params.TrainVAE, run params.TrainRun, seed uint64, supportK int, supportKs []int) vae.Options {
	o := vae.Options{Hidden: v.Hidden, Latent: v.Latent, DecoderHidden: v.DecoderHidden, Dropout: v.Dropout, BetaCap: v.BetaCap,
		AnnealEpochs: v.AnnealEpochs, Epochs: v.Epochs, Batch: v.Batch, LR: v.LR, EvalEvery: v.EvalEvery, SupportK: supportK, Seed: seed,
		Method: run.Method}
	if o.Method != vae.Plain {
		o.SupportKs, o.InnerSteps, o.MetaEpochs, o.MetaLR, o.FinetuneGrid = supportKs, v.InnerSteps, v.MetaEpochs, v.MetaLR, v.FinetuneGrid
	}
	for dom, d := range v.Domains {
		if o.Domains == nil {
			o.Domains = map[string]vae.DomainOptions{}
		}
		o.Domains[dom] = vae.DomainOptions{LR: d.LR, Hidden: d.Hidden, Latent: d.Latent}
	}
	if run.Epochs > 0 {
		if o.Method == vae.Joint || o.Method == vae.MAML {
			o.MetaEpochs = run.Epochs
		} else {
			o.Epochs = run.Epochs
		}
	}
	return o
}

// runTrainVAE trains a Mult-VAE (arch multvae) on the selected backend.
func runTrainVAE(env Env, p *params.Params, name string, l artifact.Lineage, items *tasks.ItemTable, train, valid []tasks.Episode) error {
	stage := "train@" + name
	sel, err := trainBackend(p, stage)
	if err != nil {
		return err
	}
	header := []string{"seed", "domain", "step", "train_nll", "train_kl", "beta", "valid_ndcg"}
	return runArch(env, p, name, vae.Arch, l, header, func(seed uint64, ckpt, tag string) (*archSeed, error) {
		o := VAEOptions(p.Train.VAE, p.Train.Models[name], seed, p.Split.SupportK, p.Train.SupportKs)
		o.CheckpointDir, o.Tag, o.Progress = ckpt, tag, os.Stderr
		if ckpt != "" {
			// Every multvae run of a seed starts from the same trained
			// Mult-VAE: one checkpoint of it, whichever run trains it first.
			o.PretrainCheckpointDir = env.Path(fmt.Sprintf("%s/multvae-pretrain/%s%d", CheckpointsDir, models.SeedPrefix, seed))
		}
		res, err := vae.Train(sel.Backend, items, train, valid, o)
		if err != nil {
			return nil, err
		}
		for dom, secs := range res.EpochSeconds {
			if secs > 0 { // vae-ft trains no epoch
				fmt.Fprintf(os.Stderr, "%s: seed %d %s: %.2f s per epoch (median)\n", stage, seed, dom, secs)
			}
		}
		h := vae.Header{Name: name, Config: res.Config, Training: map[string]any{
			"seed": seed, "epochs": o.Epochs, "batch": o.Batch, "lr": o.LR, "dropout": o.Dropout, "beta_cap": o.BetaCap,
			"anneal_epochs": o.AnnealEpochs, "exported_epoch": res.BestEpoch,
		}}
		if len(o.Domains) > 0 {
			h.Training["domains"] = o.Domains // each domain's own lr and widths
		}
		if o.Method != vae.Plain {
			h.Training["method"], h.Training["support_ks"], h.Training["meta_epochs"], h.Training["meta_lr"] = o.Method, o.SupportKs, o.MetaEpochs, o.MetaLR
		}
		r := &archSeed{save: func(dir string) error { return vae.Save(dir, h, res.Weights, l) }}
		best := map[string]any{}
		for _, c := range res.Curve {
			if c.Epoch == res.BestEpoch[c.Domain] {
				best[c.Domain] = map[string]any{"exported_epoch": c.Epoch, "valid_ndcg": c.ValidNDCG}
			}
			r.rows = append(r.rows, []string{c.Domain, strconv.Itoa(c.Epoch), num(c.TrainNLL), num(c.TrainKL), num(c.Beta), num(c.ValidNDCG)})
		}
		// The adapting runs' step sizes, per domain: the mean over latent
		// dimensions of inner_lr, and inner_pow.
		for i, sp := range res.Weights.Specs {
			dom, param, _ := strings.Cut(sp.Name, "/")
			if b, ok := best[dom].(map[string]any); ok && (param == vae.InnerLR || param == vae.InnerPow) {
				sum := 0.0
				for _, v := range res.Weights.Values[i] {
					sum += float64(v)
				}
				b[param] = num6(sum / float64(len(res.Weights.Values[i])))
			}
		}
		r.summary = best
		return r, nil
	})
}

// num6 rounds to 6 decimals for a metrics file.
func num6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// GNNOptions turns params train.gnn into one run's options.
func GNNOptions(g params.TrainGNN, seed uint64, supportK int) gnn.Options {
	return gnn.Options{Dim: g.Dim, Layers: g.Layers, Epochs: g.Epochs, Batch: g.Batch, LR: g.LR, L2: g.L2,
		UserEmbeddings: g.UserEmbeddings, EvalEvery: g.EvalEvery, SupportK: supportK, Seed: seed}
}

// runTrainGNN trains LightGCN (arch lightgcn). Its propagation runs in
// plain Go on every machine (lib/gnn says why), so train.backend does not
// apply.
func runTrainGNN(env Env, p *params.Params, name string, l artifact.Lineage, items *tasks.ItemTable, train, valid, cross []tasks.Episode) error {
	stage := "train@" + name
	header := []string{"seed", "group", "step", "train_bpr", "valid_ndcg"}
	return runArch(env, p, name, gnn.Arch, l, header, func(seed uint64, ckpt, tag string) (*archSeed, error) {
		o := GNNOptions(p.Train.GNN, seed, p.Split.SupportK)
		if e := p.Train.Models[name].Epochs; e > 0 {
			o.Epochs = e
		}
		o.CheckpointDir, o.Tag, o.Progress = ckpt, tag, os.Stderr
		o.PriorKs, o.Cross = p.Split.CurveKs, cross
		res, err := gnn.Train(items, train, valid, o)
		if err != nil {
			return nil, err
		}
		for g, secs := range res.EpochSeconds {
			fmt.Fprintf(os.Stderr, "%s: seed %d %s: %.2f s per epoch (median)\n", stage, seed, g, secs)
		}
		h := gnn.Header{Name: name, Config: res.Config, Training: map[string]any{
			"seed": seed, "epochs": o.Epochs, "batch": o.Batch, "lr": o.LR, "l2": o.L2, "user_embeddings": o.UserEmbeddings,
			"exported_epoch": res.BestEpoch, "prior_ks": o.PriorKs,
		}}
		r := &archSeed{save: func(dir string) error { return gnn.Save(dir, h, res.Weights, l) }}
		best := map[string]any{}
		for _, c := range res.Curve {
			if c.Epoch == res.BestEpoch[c.Group] {
				best[c.Group] = map[string]any{"exported_epoch": c.Epoch, "valid_ndcg": c.ValidNDCG, "domain_ndcg": c.Domain}
			}
			r.rows = append(r.rows, []string{c.Group, strconv.Itoa(c.Epoch), num(c.TrainBPR), num(c.ValidNDCG)})
		}
		r.summary = best
		return r, nil
	})
}
