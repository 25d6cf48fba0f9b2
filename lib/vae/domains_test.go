package vae

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// twoDomains is a task set of two clustered domains, "d" and "e".
func twoDomains() (items *tasks.ItemTable, train, valid []tasks.Episode) {
	items = itemTable(40)
	items.Domains = append(items.Domains, tasks.ItemDomain{Name: "e", IDs: items.Domains[0].IDs[:30]})
	second := func(es []tasks.Episode) []tasks.Episode {
		for i := range es {
			es[i].Domain, es[i].DomainIndex, es[i].User = "e", 1, "e"+es[i].User
		}
		return es
	}
	train = append(clustered(60, 40, 10, 3, split.Train, 1), second(clustered(60, 30, 10, 3, split.Train, 3))...)
	valid = append(clustered(20, 40, 10, 3, split.Valid, 2), second(clustered(20, 30, 10, 3, split.Valid, 4))...)
	return items, train, valid
}

// TestDomainOverrides: a domain's own step size and widths change that
// domain's network only (the other's weights are those of a run without
// overrides), the export carries the widths and loads with the same
// scores, retuning one domain resumes the other from its checkpoint, and
// an override naming no domain is refused.
func TestDomainOverrides(t *testing.T) {
	b := testBackend(t)
	items, train, valid := twoDomains()
	o := smallOptions()
	o.Epochs, o.SupportK = 10, 3
	base, err := Train(b, items, train, valid, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Domains = map[string]DomainOptions{"e": {LR: 0.02, Hidden: 8, Latent: 4}}
	o.CheckpointDir = t.TempDir()
	res, err := Train(b, items, train, valid, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []Widths{{Hidden: 16, Latent: 8}, {Hidden: 8, Latent: 4}}
	if !slices.Equal(res.Config.Widths, want) {
		t.Fatalf("widths %v, want %v", res.Config.Widths, want)
	}
	for i, s := range res.Weights.Specs {
		switch {
		case s.Name == "e/"+EncW && !slices.Equal(s.Dims, []int{30, 8}):
			t.Fatalf("e's encoder is %v, want [30 8]", s.Dims)
		case s.Name == "e/"+OutW && !slices.Equal(s.Dims, []int{4, 30}):
			t.Fatalf("e's output layer is %v, want [4 30]", s.Dims)
		case strings.HasPrefix(s.Name, "d/"):
			j := slices.IndexFunc(base.Weights.Specs, func(x models.VarSpec) bool { return x.Name == s.Name })
			if j < 0 || !slices.Equal(base.Weights.Values[j], res.Weights.Values[i]) {
				t.Fatalf("%s changed with e's overrides", s.Name)
			}
		}
	}

	dir := filepath.Join(t.TempDir(), "seed-1")
	if err := Save(dir, Header{Name: "vae", Config: res.Config}, res.Weights, artifact.Lineage{Stage: "test"}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir, items)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := NewModel("vae", res.Config, res.Weights)
	if err != nil {
		t.Fatal(err)
	}
	sup, cands := []tasks.Rated{{Item: 3}, {Item: 7}}, []int32{0, 5, 11, 29}
	got, err := m.Score(1, sup, cands)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := orig.Score(1, sup, cands); !slices.Equal(got, w) {
		t.Fatalf("loaded scores %v, trained model's %v", got, w)
	}

	o.Domains = map[string]DomainOptions{"e": {LR: 0.03, Hidden: 8, Latent: 4}}
	var log strings.Builder
	o.Progress = &log
	if _, err := Train(b, items, train, valid, o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "multvae d: resumed") || strings.Contains(log.String(), "multvae e: resumed") {
		t.Fatalf("retuning e should resume d only:\n%s", log.String())
	}

	o.Domains = map[string]DomainOptions{"movies": {LR: 0.01}}
	if _, err := Train(b, items, train, valid, o); err == nil || !strings.Contains(err.Error(), `"movies"`) {
		t.Fatalf("an override of an unknown domain: %v", err)
	}
	// A misspelt name sorting after a width override is refused too.
	o.Domains = map[string]DomainOptions{"e": {Hidden: 8}, "f": {LR: 0.01}}
	if _, err := Train(b, items, train, valid, o); err == nil || !strings.Contains(err.Error(), `"f"`) {
		t.Fatalf("an unknown domain after a width override: %v", err)
	}
	o.Domains = map[string]DomainOptions{"e": {Latent: -1}}
	if _, err := Train(b, items, train, valid, o); err == nil {
		t.Fatal("a negative latent width was accepted")
	}
}
