package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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
	if run := p.Train.Models[name]; run.ExcludeDomain != "" || run.Method != "" {
		return fmt.Errorf("train.models.%s: a %s run takes no method or exclude_domain", name, arch)
	}
	tmp := env.Path(ModelsDir + "/." + name + ".tmp")
	os.RemoveAll(tmp)
	defer os.RemoveAll(tmp)
	tag := l.ParamsSHA256
	for _, in := range trainInputs {
		tag += l.Inputs[in]
	}
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

// VAEOptions turns params train.vae into one run's options.
func VAEOptions(v params.TrainVAE, seed uint64, supportK int) vae.Options {
	return vae.Options{Hidden: v.Hidden, Latent: v.Latent, DecoderHidden: v.DecoderHidden, Dropout: v.Dropout, BetaCap: v.BetaCap,
		AnnealEpochs: v.AnnealEpochs, Epochs: v.Epochs, Batch: v.Batch, LR: v.LR, EvalEvery: v.EvalEvery, SupportK: supportK, Seed: seed}
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
		o := VAEOptions(p.Train.VAE, seed, p.Split.SupportK)
		o.CheckpointDir, o.Tag, o.Progress = ckpt, tag, os.Stderr
		res, err := vae.Train(sel.Backend, items, train, valid, o)
		if err != nil {
			return nil, err
		}
		for dom, secs := range res.EpochSeconds {
			fmt.Fprintf(os.Stderr, "%s: seed %d %s: %.2f s per epoch (median)\n", stage, seed, dom, secs)
		}
		h := vae.Header{Name: name, Config: res.Config, Training: map[string]any{
			"seed": seed, "epochs": o.Epochs, "batch": o.Batch, "lr": o.LR, "dropout": o.Dropout, "beta_cap": o.BetaCap,
			"anneal_epochs": o.AnnealEpochs, "exported_epoch": res.BestEpoch,
		}}
		r := &archSeed{save: func(dir string) error { return vae.Save(dir, h, res.Weights, l) }}
		best := map[string]any{}
		for _, c := range res.Curve {
			if c.Epoch == res.BestEpoch[c.Domain] {
				best[c.Domain] = map[string]any{"exported_epoch": c.Epoch, "valid_ndcg": c.ValidNDCG}
			}
			r.rows = append(r.rows, []string{c.Domain, strconv.Itoa(c.Epoch), num(c.TrainNLL), num(c.TrainKL), num(c.Beta), num(c.ValidNDCG)})
		}
		r.summary = best
		return r, nil
	})
}

// GNNOptions turns params train.gnn into one run's options.
func GNNOptions(g params.TrainGNN, seed uint64, supportK int) gnn.Options {
	return gnn.Options{Dim: g.Dim, Layers: g.Layers, Epochs: g.Epochs, Batch: g.Batch, LR: g.LR, L2: g.L2,
		UserEmbeddings: g.UserEmbeddings, EvalEvery: g.EvalEvery, SupportK: supportK, Seed: seed}
}

// runTrainGNN trains LightGCN (arch lightgcn). Its propagation runs in
// plain Go on every machine (lib/gnn says why), so train.backend does not
// apply.
func runTrainGNN(env Env, p *params.Params, name string, l artifact.Lineage, items *tasks.ItemTable, train, valid []tasks.Episode) error {
	stage := "train@" + name
	header := []string{"seed", "group", "step", "train_bpr", "valid_ndcg"}
	return runArch(env, p, name, gnn.Arch, l, header, func(seed uint64, ckpt, tag string) (*archSeed, error) {
		o := GNNOptions(p.Train.GNN, seed, p.Split.SupportK)
		o.CheckpointDir, o.Tag, o.Progress = ckpt, tag, os.Stderr
		res, err := gnn.Train(items, train, valid, o)
		if err != nil {
			return nil, err
		}
		for g, secs := range res.EpochSeconds {
			fmt.Fprintf(os.Stderr, "%s: seed %d %s: %.2f s per epoch (median)\n", stage, seed, g, secs)
		}
		h := gnn.Header{Name: name, Config: res.Config, Training: map[string]any{
			"seed": seed, "epochs": o.Epochs, "batch": o.Batch, "lr": o.LR, "l2": o.L2, "user_embeddings": o.UserEmbeddings,
			"exported_epoch": res.BestEpoch,
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
