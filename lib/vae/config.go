// Package vae is Mult-VAE (Liang, Krishnan, Hoffman and Jebara, "Variational
// Autoencoders for Collaborative Filtering", WWW 2018): a user's set of
// items is encoded into a Gaussian latent and decoded into a multinomial
// over the domain's whole catalogue. One network per domain, trained on the
// meta-train users' item sets; a new user is folded in by the encoder from
// their support items, with no retraining and no ID row.
//
// Training runs in GoMLX (one graph execution per update, Adam inside the
// graph); a trained model scores in plain Go (the encoder's first layer is a
// sum of the support items' rows, the rest are small dense layers), and a
// test holds the two forward passes together.
package vae

import (
	"fmt"

	"github.com/crossrec/crossrec/lib/models"
)

// Arch is the architecture name in params (train.models.<name>.arch) and in
// an exported model's header.
const Arch = "multvae"

// Config is the architecture and the catalogue it was trained for.
type Config struct {
	Hidden        int `json:"hidden"`         // encoder hidden width
	Latent        int `json:"latent"`         // latent width
	DecoderHidden int `json:"decoder_hidden"` // 0: the latent is decoded linearly
	// InnerSteps is the meta-learned variant's adaptation (lib/vae
	// meta.go): the folded-in latent takes this many gradient steps on the
	// support's multinomial likelihood, each latent dimension with its own
	// step size (parameters inner_lr and inner_pow). 0: the plain Mult-VAE.
	InnerSteps int `json:"inner_steps,omitempty"`
	// Domains and Items name each domain and its catalogue size, in the
	// order of the task files' domains.
	Domains []string `json:"domains"`
	Items   []int    `json:"items"`
	// Widths, when set, are each domain's own hidden and latent widths
	// (one per domain, in Domains' order), in place of Hidden and Latent.
	Widths []Widths `json:"widths,omitempty"`
}

// Widths are one domain's encoder hidden and latent widths.
type Widths struct {
	Hidden int `json:"hidden"`
	Latent int `json:"latent"`
}

// At is the config of domain d's network: Hidden and Latent are the
// domain's own widths when Widths sets them.
func (c *Config) At(d int) *Config {
	if len(c.Widths) == 0 {
		return c
	}
	dc := *c
	dc.Hidden, dc.Latent = c.Widths[d].Hidden, c.Widths[d].Latent
	return &dc
}

// Validate checks the widths and the catalogue.
func (c *Config) Validate() error {
	if c.Hidden <= 0 || c.Latent <= 0 || c.DecoderHidden < 0 {
		return fmt.Errorf("multvae: hidden (%d) and latent (%d) must be positive, decoder_hidden (%d) not negative", c.Hidden, c.Latent, c.DecoderHidden)
	}
	if c.InnerSteps < 0 || (c.InnerSteps > 0 && c.DecoderHidden > 0) {
		return fmt.Errorf("multvae: inner_steps (%d) must not be negative, and needs the linear decoder (decoder_hidden 0, not %d)", c.InnerSteps, c.DecoderHidden)
	}
	if len(c.Domains) == 0 || len(c.Domains) != len(c.Items) {
		return fmt.Errorf("multvae: %d domains and %d catalogue sizes", len(c.Domains), len(c.Items))
	}
	for d, n := range c.Items {
		if n <= 0 {
			return fmt.Errorf("multvae: domain %s has %d items", c.Domains[d], n)
		}
	}
	if len(c.Widths) > 0 && len(c.Widths) != len(c.Domains) {
		return fmt.Errorf("multvae: %d domains and %d per-domain widths", len(c.Domains), len(c.Widths))
	}
	for d, w := range c.Widths {
		if w.Hidden <= 0 || w.Latent <= 0 {
			return fmt.Errorf("multvae: domain %s: hidden (%d) and latent (%d) must be positive", c.Domains[d], w.Hidden, w.Latent)
		}
	}
	return nil
}

// Parameter names of one domain's network, in the order of Vars.
const (
	EncW = "enc_w" // [items, hidden]
	EncB = "enc_b"
	MuW  = "mu_w" // [hidden, latent]
	MuB  = "mu_b"
	LvW  = "logvar_w" // [hidden, latent]
	LvB  = "logvar_b"
	DecW = "dec_w" // [latent, decoder_hidden], with a hidden decoder layer
	DecB = "dec_b"
	OutW = "out_w" // [decoder_hidden or latent, items]
	OutB = "out_b"
	// InnerLR is the adapting variants' step size per latent dimension
	// (Meta-SGD), [latent], and InnerPow the exponent of the support size
	// k that scales it, [1] (a step of alpha k^pow: the best step grows
	// with k); present when InnerSteps > 0.
	InnerLR  = "inner_lr"
	InnerPow = "inner_pow"
)

// DomainVars are the parameters of domain d's network (names without the
// domain prefix).
func (c *Config) DomainVars(d int) []models.VarSpec {
	n, h, z := c.Items[d], c.At(d).Hidden, c.At(d).Latent
	vs := []models.VarSpec{
		{Name: EncW, Dims: []int{n, h}}, {Name: EncB, Dims: []int{h}},
		{Name: MuW, Dims: []int{h, z}}, {Name: MuB, Dims: []int{z}},
		{Name: LvW, Dims: []int{h, z}}, {Name: LvB, Dims: []int{z}},
	}
	last := z
	if c.DecoderHidden > 0 {
		vs = append(vs, models.VarSpec{Name: DecW, Dims: []int{z, c.DecoderHidden}}, models.VarSpec{Name: DecB, Dims: []int{c.DecoderHidden}})
		last = c.DecoderHidden
	}
	vs = append(vs, models.VarSpec{Name: OutW, Dims: []int{last, n}}, models.VarSpec{Name: OutB, Dims: []int{n}})
	if c.InnerSteps > 0 {
		vs = append(vs, models.VarSpec{Name: InnerLR, Dims: []int{z}}, models.VarSpec{Name: InnerPow, Dims: []int{1}})
	}
	return vs
}

// Vars are every domain's parameters, named <domain>/<parameter>: the
// layout of the exported weights.
func (c *Config) Vars() []models.VarSpec {
	var out []models.VarSpec
	for d, dom := range c.Domains {
		for _, v := range c.DomainVars(d) {
			v.Name = dom + "/" + v.Name
			out = append(out, v)
		}
	}
	return out
}
