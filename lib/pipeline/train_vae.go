package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/backend"
	"github.com/crossrec/crossrec/lib/fastgrad"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/vae"
)

// vaeCurveHeader is the Mult-VAE's training curve: one row per seed,
// domain and validation point; `dvc plots show` draws the last column.
var vaeCurveHeader = []string{"seed", "domain", "step", "train_nll", "train_kl", "beta", "valid_ndcg"}

// VAEOptions turns params train.vae into one run's options.
func VAEOptions(v params.TrainVAE, seed uint64, supportK int) vae.Options {
	return vae.Options{Hidden: v.Hidden, Latent: v.Latent, DecoderHidden: v.DecoderHidden, Dropout: v.Dropout, BetaCap: v.BetaCap,
		AnnealEpochs: v.AnnealEpochs, Epochs: v.Epochs, Batch: v.Batch, LR: v.LR, EvalEvery: v.EvalEvery, SupportK: supportK, Seed: seed}
}

// runTrainVAE trains a Mult-VAE (arch multvae) for every seed and exports
// it: the same stage contract as the other models (outputs, curve,
// metrics, checkpoints), a different trainer.
func runTrainVAE(env Env, p *params.Params, name string, l artifact.Lineage, items *tasks.ItemTable, train, valid []tasks.Episode) error {
	stage := "train@" + name
	if run := p.Train.Models[name]; run.ExcludeDomain != "" || run.Method != "" {
		return fmt.Errorf("train.models.%s: a %s run takes no method or exclude_domain (it cannot rank a domain it has not seen)", name, vae.Arch)
	}
	if err := fastgrad.Register(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", stage, err)
	}
	sel, err := backend.Select(p.Train.Backend)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: backend %s (%s)\n", stage, sel.Config, sel.Reason)
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
		o := VAEOptions(p.Train.VAE, seed, p.Split.SupportK)
		if build != "" {
			o.CheckpointDir = env.Path(fmt.Sprintf("%s/%s/%s%d", CheckpointsDir, name, models.SeedPrefix, seed))
		}
		o.Tag = tag
		o.Progress = os.Stderr
		fmt.Fprintf(os.Stderr, "%s: seed %d, %d epochs per domain\n", stage, seed, o.Epochs)
		res, err := vae.Train(sel.Backend, items, train, valid, o)
		if err != nil {
			return fmt.Errorf("%s seed %d: %w", stage, seed, err)
		}
		for dom, secs := range res.EpochSeconds {
			fmt.Fprintf(os.Stderr, "%s: seed %d %s: %.2f s per epoch (median)\n", stage, seed, dom, secs)
		}
		h := vae.Header{Name: name, Config: res.Config, Training: map[string]any{
			"seed": seed, "epochs": o.Epochs, "batch": o.Batch, "lr": o.LR, "dropout": o.Dropout, "beta_cap": o.BetaCap,
			"anneal_epochs": o.AnnealEpochs, "exported_epoch": res.BestEpoch,
		}}
		if err := vae.Save(filepath.Join(tmp, fmt.Sprintf("%s%d", models.SeedPrefix, seed)), h, res.Weights, l); err != nil {
			return err
		}
		best := map[string]any{}
		for _, c := range res.Curve {
			if c.Epoch == res.BestEpoch[c.Domain] {
				best[c.Domain] = map[string]any{"exported_epoch": c.Epoch, "valid_ndcg": c.ValidNDCG}
			}
			rows = append(rows, []string{strconv.FormatUint(seed, 10), c.Domain, strconv.Itoa(c.Epoch), num(c.TrainNLL), num(c.TrainKL), num(c.Beta), num(c.ValidNDCG)})
		}
		perSeed[strconv.FormatUint(seed, 10)] = best
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
	if err := writeCurve(env.Path(TrainPlotsDir+"/"+name+".csv"), vaeCurveHeader, rows); err != nil {
		return err
	}
	return artifact.WriteJSON(env.Path(TrainMetrics+"/"+name+".json"), map[string]any{"model": name, "arch": vae.Arch, "seeds": perSeed})
}
