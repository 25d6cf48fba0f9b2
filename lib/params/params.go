// Package params loads params.yaml, the one file that holds every knob of the
// pipeline, into typed structs. Each top-level section belongs to one stage.
package params

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"
)

// DataRootEnv, when set, replaces data.root: it moves every input to a
// user's own downloads without editing params.yaml.
const DataRootEnv = "CROSSREC_DATA_ROOT"

// Source says where one domain's data comes from and in which published layout.
type Source struct {
	// Format is the published layout: movielens-csv, movielens-1m, movielens-100k,
	// goodbooks, goodreads-kaggle, lastfm-hetrec, lastfm-1k, douban.
	Format string `yaml:"format"`
	// Dir is the folder of the published files, relative to data.root unless absolute.
	Dir string `yaml:"dir"`
	// Files overrides individual file paths by role (ratings, books, book_tags, ...),
	// relative to data.root unless absolute.
	Files map[string]string `yaml:"files,omitempty"`
	// Kind is the domain kind used by the universal genre mapping: movies, books or music.
	Kind string `yaml:"kind"`
	// UserNamespace prefixes user ids. Domains that share a namespace share users
	// (the Douban pair); by default it is the domain name.
	UserNamespace string `yaml:"user_namespace,omitempty"`
}

// Data is the data section: where the datasets live and which domain reads what.
type Data struct {
	Root    string            `yaml:"root"`
	Domains map[string]Source `yaml:"domains"`
}

// Ingest holds the ingest stage's knobs.
type Ingest struct {
	// MaxMalformedFraction fails a file whose share of malformed rows exceeds it:
	// a few bad rows are counted and dropped, a wrong format is an error.
	MaxMalformedFraction float64 `yaml:"max_malformed_fraction"`
}

// Clean holds the clean stage's knobs.
type Clean struct {
	// Duplicates is the rule for repeated (domain, user, item) rows:
	// "latest" keeps the row with the latest timestamp (file order breaks ties),
	// "first" keeps the first in file order, "sum" adds play counts.
	Duplicates string `yaml:"duplicates"`
	// MinUserInteractions drops users with fewer interactions in a domain.
	MinUserInteractions int `yaml:"min_user_interactions"`
	// MinItemInteractions drops items with fewer interactions.
	MinItemInteractions int `yaml:"min_item_interactions"`
}

// Features holds the features stage's knobs.
type Features struct {
	MaxGenres   int `yaml:"max_genres"`   // genre indices kept per item (padded), the unified length
	MaxCreators int `yaml:"max_creators"` // creator indices kept per item (padded)
	// MinCreatorItems: creators with fewer items share one "rare" index.
	MinCreatorItems int `yaml:"min_creator_items"`
	// MinGenreItems: genres/tags on fewer items are left out of the vocabulary.
	MinGenreItems int `yaml:"min_genre_items"`
	// MultiHotGenres is the length of the genre multi-hot: each domain's most
	// frequent genres, the same length in every domain.
	MultiHotGenres int `yaml:"multihot_genres"`
}

// Split holds the split stage's knobs.
type Split struct {
	Seed uint64 `yaml:"seed"`
	// Fractions of users in meta-train, meta-validation and meta-test; they sum to 1.
	Train float64 `yaml:"train"`
	Valid float64 `yaml:"valid"`
	Test  float64 `yaml:"test"`
	// SupportK is the support size of training tasks; CurveKs the support sizes
	// of the cold-start curves. The query set is the same for every K.
	SupportK int   `yaml:"support_k"`
	CurveKs  []int `yaml:"curve_ks"`
	// MinQuery is the least number of query interactions a task needs.
	MinQuery int `yaml:"min_query"`
	// MaxQuery caps query sets (0: no cap).
	MaxQuery int `yaml:"max_query"`
	// Temporal orders each user's interactions by time where timestamps exist:
	// support is the earliest, query the latest. Otherwise a seeded shuffle.
	Temporal bool `yaml:"temporal"`
}

// Tasks holds the tasks stage's knobs.
type Tasks struct {
	// SourceHistory caps the source-domain history carried by cross-domain tasks.
	SourceHistory int `yaml:"source_history"`
	// WarmHoldout is the share of each meta-train user's ranked history (the
	// last ranks) kept out of train.arrow and written to warm.arrow, so the
	// warm-user states of the evaluation score users the model knows on
	// interactions it never saw.
	WarmHoldout float64 `yaml:"warm_holdout"`
	// CrossDomain lists source->target domain pairs that share users.
	CrossDomain []CrossPair `yaml:"cross_domain"`
}

// CrossPair names a source and a target domain whose users overlap.
type CrossPair struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

// EDA holds the EDA stage's knobs.
type EDA struct {
	TopShare float64 `yaml:"top_share"` // share of most popular items for the long-tail figure (0.2)
	// CorrelationPair names the two domains whose overlapping users' preferences are correlated.
	CorrelationPair CrossPair `yaml:"correlation_pair"`
}

// Params is the whole params.yaml.
type Params struct {
	Data     Data     `yaml:"data"`
	Ingest   Ingest   `yaml:"ingest"`
	Clean    Clean    `yaml:"clean"`
	Features Features `yaml:"features"`
	Split    Split    `yaml:"split"`
	Tasks    Tasks    `yaml:"tasks"`
	EDA      EDA      `yaml:"eda"`

	// Raw keeps each top-level section's YAML node, so a stage can hash exactly
	// the sections it depends on.
	raw map[string]*yaml.Node
	dir string // folder of params.yaml; relative data.root resolves against it
}

// Load reads and validates params.yaml.
func Load(path string) (*Params, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	var p Params
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var raw map[string]*yaml.Node
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.raw = raw
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p.dir = filepath.Dir(abs)
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

func (p *Params) validate() error {
	s := p.Split
	if s.Train <= 0 || s.Valid < 0 || s.Test <= 0 {
		return fmt.Errorf("split: train and test fractions must be positive, valid non-negative")
	}
	if d := s.Train + s.Valid + s.Test - 1; d > 1e-9 || d < -1e-9 {
		return fmt.Errorf("split: fractions sum to %g, want 1", s.Train+s.Valid+s.Test)
	}
	if s.SupportK <= 0 {
		return fmt.Errorf("split.support_k: must be positive, got %d", s.SupportK)
	}
	for _, k := range s.CurveKs {
		if k <= 0 {
			return fmt.Errorf("split.curve_ks: must be positive, got %d", k)
		}
	}
	if len(p.Data.Domains) == 0 {
		return fmt.Errorf("data.domains: none configured")
	}
	for name, src := range p.Data.Domains {
		if src.Format == "" || src.Dir == "" {
			return fmt.Errorf("data.domains.%s: format and dir are required", name)
		}
		switch src.Kind {
		case "movies", "books", "music":
		default:
			return fmt.Errorf("data.domains.%s.kind: %q is not movies, books or music", name, src.Kind)
		}
	}
	switch p.Clean.Duplicates {
	case "latest", "first", "sum":
	default:
		return fmt.Errorf("clean.duplicates: %q is not latest, first or sum", p.Clean.Duplicates)
	}
	return nil
}

// DataRoot is the folder the datasets are read from: $CROSSREC_DATA_ROOT if
// set, else data.root resolved against the folder of params.yaml.
func (p *Params) DataRoot() string {
	if r := os.Getenv(DataRootEnv); r != "" {
		return r
	}
	if filepath.IsAbs(p.Data.Root) {
		return p.Data.Root
	}
	return filepath.Join(p.dir, p.Data.Root)
}

// Path resolves a path from params against the data root.
func (p *Params) Path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.DataRoot(), rel)
}

// DomainNames returns the configured domains in sorted order, the order every
// stage iterates in so outputs do not depend on map order.
func (p *Params) DomainNames() []string {
	names := make([]string, 0, len(p.Data.Domains))
	for n := range p.Data.Domains {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Hash returns a hex sha256 over the canonical YAML of the named top-level
// sections, the params a stage declares. Comments and key order in the file
// do not change it; values do.
func (p *Params) Hash(sections ...string) (string, error) {
	h := sha256.New()
	for _, s := range sections {
		node, ok := p.raw[s]
		if !ok {
			return "", fmt.Errorf("params: no section %q", s)
		}
		var v any
		if err := node.Decode(&v); err != nil {
			return "", fmt.Errorf("params.%s: %w", s, err)
		}
		b, err := yaml.Marshal(v) // yaml.v3 sorts map keys: canonical
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n%s\n", s, b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
