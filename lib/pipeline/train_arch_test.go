package pipeline

import (
	"path/filepath"
	"testing"

	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/testutil"
	"github.com/crossrec/crossrec/lib/vae"
)

// TestVAEOptionsDomains: train.vae.domains reaches every multvae run's
// options (the plain network is what every run starts from), and the
// committed params.yaml's overrides parse.
func TestVAEOptionsDomains(t *testing.T) {
	v := params.TrainVAE{Hidden: 256, Latent: 64, LR: 0.001, Domains: map[string]params.VAEDomain{"movies": {LR: 0.003}, "books": {Hidden: 128, Latent: 32}}}
	for _, method := range []string{vae.Plain, vae.Finetune, vae.MAML, vae.Joint} {
		o := VAEOptions(v, params.TrainRun{Method: method}, 1, 10, []int{1, 10})
		if o.LR != 0.001 || o.Domains["movies"] != (vae.DomainOptions{LR: 0.003}) || o.Domains["books"] != (vae.DomainOptions{Hidden: 128, Latent: 32}) {
			t.Fatalf("%s: lr %g, domains %v", method, o.LR, o.Domains)
		}
	}
	if o := VAEOptions(params.TrainVAE{LR: 0.001}, params.TrainRun{}, 1, 10, nil); o.Domains != nil {
		t.Fatalf("no overrides gave %v", o.Domains)
	}
	p, err := params.Load(filepath.Join(testutil.RepoRoot(t), "params.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for dom, d := range p.Train.VAE.Domains {
		if d == (params.VAEDomain{}) {
			t.Errorf("params.yaml: train.vae.domains.%s overrides nothing", dom)
		}
	}
}
