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
	"strings"

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

// Evaluate holds the evaluate stage's knobs. lib/eval validates them and
// its README states the protocol they parameterise.
type Evaluate struct {
	// Seeds re-draw each held-out user's support and query (a seeded shuffle
	// of the episode's support and query pool; none when split.temporal) and
	// pick the per-seed trained models; metrics are reported as the mean and
	// spread over seeds.
	Seeds []uint64 `yaml:"seeds"`
	// Ks are the cut-offs of the ranking metrics (precision@K, ndcg@K, ...).
	Ks []int `yaml:"ks"`
	// Relevance decides which query items count as hits.
	Relevance EvaluateRelevance `yaml:"relevance"`
	// ShrinkageGrid lists the shrinkage strengths the baselines' item and
	// user biases are tuned over, on meta-validation users.
	ShrinkageGrid []float64 `yaml:"shrinkage_grid"`
	// LODODomains are the domains of the leave-one-domain-out score.
	LODODomains []string `yaml:"lodo_domains"`
	// CrossKs are the target-domain support sizes of the cross-domain
	// protocol (0: the source history alone).
	CrossKs []int `yaml:"cross_ks"`
	// Models names the trained models (folders of artifacts/models) to
	// score beside the baselines; empty scores the baselines only.
	Models []string `yaml:"models"`
	// Peers are the hyperparameter grids of the strong peers (EASE,
	// ItemKNN, RP3beta, PureSVD, the MF fold-in, KNNBaseline), each tuned
	// per domain on meta-validation users; an empty section scores none.
	Peers EvaluatePeers `yaml:"peers"`
	// Ablate names trained models that are also scored without their
	// parts: <name>-rank-term (the fitted ranking term alone, no network)
	// and <name>-no-inner (the trained network without the inner loop).
	Ablate []string `yaml:"ablate"`
	// Contrasts are pairs of scorers [a, b] compared on the same users at
	// every support size of the cold-start curve (paired t and Wilcoxon
	// tests of a minus b): a meta-learned model against its controls.
	// Any scored row may be named: a trained model, an ablation row
	// (<name>-no-inner), a baseline or a peer.
	Contrasts [][]string `yaml:"contrasts"`
}

// EvaluatePeers holds each peer's grid; lib/baselines documents the
// models and lib/eval the coordinate search over the grids.
type EvaluatePeers struct {
	EASE        PeerEASE        `yaml:"ease"`
	ItemKNN     PeerItemKNN     `yaml:"itemknn"`
	RP3beta     PeerRP3beta     `yaml:"rp3beta"`
	PureSVD     PeerPureSVD     `yaml:"puresvd"`
	MF          PeerMF          `yaml:"mf_foldin"`
	KNNBaseline PeerKNNBaseline `yaml:"knn_baseline"`
}

// PeerEASE: the ridge lambda of EASE.
type PeerEASE struct {
	Lambda []float64 `yaml:"lambda"`
}

// PeerItemKNN: neighbours per item and the similarity shrinkage.
type PeerItemKNN struct {
	K      []int     `yaml:"k"`
	Shrink []float64 `yaml:"shrink"`
}

// PeerRP3beta: the walk's exponent alpha, the popularity penalty beta and
// the out-links kept per item.
type PeerRP3beta struct {
	Alpha []float64 `yaml:"alpha"`
	Beta  []float64 `yaml:"beta"`
	K     []int     `yaml:"k"`
}

// PeerPureSVD: the number of factors.
type PeerPureSVD struct {
	Factors []int `yaml:"factors"`
}

// PeerMF: factors and the factors' ridge (the biases' ridges are the
// tuned user-bias baseline's).
type PeerMF struct {
	Factors []int     `yaml:"factors"`
	Lambda  []float64 `yaml:"lambda"`
}

// PeerKNNBaseline: neighbours among the support, the similarity
// shrinkage and the correction's shrinkage alpha.
type PeerKNNBaseline struct {
	K      []int     `yaml:"k"`
	Shrink []float64 `yaml:"shrink"`
	Alpha  []float64 `yaml:"alpha"`
}

// EvaluateRelevance is the relevance rule, per value kind of a domain.
type EvaluateRelevance struct {
	// RatingMin: a rated query item is relevant when its raw rating is at
	// least this many stars.
	RatingMin float64 `yaml:"rating_min"`
	// PlaycountTopShare: a play-count query item is relevant when it is
	// among the user's top share of query items by plays (ties included).
	PlaycountTopShare float64 `yaml:"playcount_top_share"`
}

// Train holds the train stage's knobs: one training run per entry of
// Models (DVC stage train@<name>), per seed. lib/meta and lib/models
// document what each knob does.
type Train struct {
	// Backend: auto (pure Go unless a CUDA PJRT plugin and a GPU are
	// found), go, xla:cuda, xla:cpu or xla:/path/plugin.so. $GOMLX_BACKEND
	// overrides it; a backend that cannot start falls back to pure Go.
	Backend string `yaml:"backend"`
	// Seeds: each model is trained once per seed, into
	// artifacts/models/<name>/seed-<s>/.
	Seeds []uint64 `yaml:"seeds"`
	// Steps is the number of outer (meta-)steps of each run.
	Steps     int     `yaml:"steps"`
	MetaBatch int     `yaml:"meta_batch"` // tasks per outer step
	QueryMax  int     `yaml:"query_max"`  // query ratings sampled per task and step
	OuterLR   float64 `yaml:"outer_lr"`   // Adam step size
	Clip      float64 `yaml:"clip"`       // global gradient-norm clip (0: none)
	// OuterLoss: the query error the outer update minimises, mse or mae.
	OuterLoss string `yaml:"outer_loss"`
	// EvalEvery steps a point of the training curve is computed on
	// EvalTasks meta-validation users (K = split.support_k); KeepBest
	// exports the weights of the best point by validation MAE.
	EvalEvery       int  `yaml:"eval_every"`
	EvalTasks       int  `yaml:"eval_tasks"`
	KeepBest        bool `yaml:"keep_best"`
	CheckpointEvery int  `yaml:"checkpoint_every"`
	// BiasGrid: the shrinkage values the bias initialisation is tuned
	// over on meta-validation users (as evaluate.shrinkage_grid is for
	// the baselines).
	BiasGrid []float64 `yaml:"bias_grid"`
	// SupportKs: support sizes training tasks are drawn with (each at
	// most split.support_k); empty: always split.support_k.
	SupportKs []int `yaml:"support_ks"`
	// Negatives: items per task the ranking loss samples from the task's
	// domain.
	Negatives int `yaml:"negatives"`
	// Model is the architecture and adaptation every entry starts from.
	Model TrainModel `yaml:"model"`
	// VAE is the Mult-VAE's architecture and training (arch multvae).
	VAE TrainVAE `yaml:"vae"`
	// GNN is LightGCN's architecture and training (arch lightgcn).
	GNN TrainGNN `yaml:"gnn"`
	// Models names the runs; each may override the method and a few
	// knobs of Model.
	Models map[string]TrainRun `yaml:"models"`
}

// TrainVAE is Mult-VAE (Liang et al., WWW 2018), trained per domain on
// the meta-train users' item sets: lib/vae.
type TrainVAE struct {
	Hidden        int     `yaml:"hidden"`         // encoder hidden width (the paper: 600)
	Latent        int     `yaml:"latent"`         // latent width (the paper: 200)
	DecoderHidden int     `yaml:"decoder_hidden"` // decoder hidden width; 0: a linear decoder
	Dropout       float64 `yaml:"dropout"`        // input dropout (the paper: 0.5)
	BetaCap       float64 `yaml:"beta_cap"`       // KL weight cap (the paper: 0.2)
	AnnealEpochs  int     `yaml:"anneal_epochs"`  // the KL weight grows linearly to the cap over these epochs
	Epochs        int     `yaml:"epochs"`
	Batch         int     `yaml:"batch"`      // users per update
	LR            float64 `yaml:"lr"`         // Adam step size
	EvalEvery     int     `yaml:"eval_every"` // epochs between validation points
	// The runs that start from the trained Mult-VAE (methods joint, maml,
	// finetune; lib/vae meta.go): InnerSteps gradient steps of the
	// folded-in latent on the support, their step size chosen from
	// FinetuneGrid on validation users (maml: then meta-learned from
	// there); joint and maml train MetaEpochs further epochs on episodes
	// at MetaLR.
	InnerSteps   int       `yaml:"inner_steps"`
	MetaEpochs   int       `yaml:"meta_epochs"`
	MetaLR       float64   `yaml:"meta_lr"`
	FinetuneGrid []float64 `yaml:"finetune_grid"`
	// Domains overrides settings above for one domain, by name: each
	// domain is its own network, tuned on its own validation users. A field
	// left out (0) keeps the value above.
	Domains map[string]VAEDomain `yaml:"domains"`
}

// VAEDomain is one domain's Mult-VAE settings where they differ from
// train.vae's.
type VAEDomain struct {
	LR     float64 `yaml:"lr"`     // Adam step size of the plain network's training
	Hidden int     `yaml:"hidden"` // encoder hidden width
	Latent int     `yaml:"latent"` // latent width
}

// TrainModel is the shared architecture and inner loop.
type TrainModel struct {
	ItemDim      int      `yaml:"item_dim"`
	UserDim      int      `yaml:"user_dim"`
	Hidden       [2]int   `yaml:"hidden"`
	Encoder      bool     `yaml:"encoder"`
	Adapt        []string `yaml:"adapt"` // besides the user state: last, head
	InnerSteps   int      `yaml:"inner_steps"`
	InnerLR      float64  `yaml:"inner_lr"`
	LearnInnerLR bool     `yaml:"learn_inner_lr"`
	L2           float64  `yaml:"l2"` // on the item-embedding rows a batch uses
	// Rank adds the ranking score (lib/models Config.Rank), trained with
	// weight RankWeight by a sampled softmax over Train.Negatives items.
	Rank       bool    `yaml:"rank"`
	RankWeight float64 `yaml:"rank_weight"`
	// CooccurGrid: weights of the items' co-occurrence similarity in the
	// ranking score (rank_item, fitted by truncated SVD on the training
	// users), one chosen per domain on meta-validation users' NDCG@10.
	// Empty leaves the co-occurrence vectors out.
	CooccurGrid []float64 `yaml:"cooccur_grid"`
}

// TrainGNN is LightGCN (He et al., SIGIR 2020), one graph per group of
// domains sharing their users, trained on the meta-train users' edges:
// lib/gnn.
type TrainGNN struct {
	Dim    int `yaml:"dim"`    // embedding width (the paper: 64)
	Layers int `yaml:"layers"` // propagation layers (the paper: 3)
	Epochs int `yaml:"epochs"`
	Batch  int `yaml:"batch"` // BPR triples per update
	// LR is Adam's step size; L2 the weight of the batch's layer-0 rows'
	// squared norm (the paper: 1e-4).
	LR float64 `yaml:"lr"`
	L2 float64 `yaml:"l2"`
	// UserEmbeddings gives training users an ID row, as the paper does;
	// false starts them at zero, as a folded-in new user starts.
	UserEmbeddings bool `yaml:"user_embeddings"`
	EvalEvery      int  `yaml:"eval_every"` // epochs between validation points
}

// TrainRun is one entry of train.models.
type TrainRun struct {
	Arch string `yaml:"arch"` // fcnn | ncf | multvae (train.vae) | lightgcn (train.gnn)
	// Method: joint (plain training, fine-tuned on the support at test
	// time), maml, reptile. A multvae run: empty (the paper's training),
	// or one that starts from it: joint, maml, finetune (train.vae).
	Method     string `yaml:"method"`
	FirstOrder bool   `yaml:"first_order"`
	// ExcludeDomain trains without that domain's tasks (leave one domain
	// out); such runs are named <model>-lodo-<domain>.
	ExcludeDomain string `yaml:"exclude_domain,omitempty"`
	// Overrides of train.model / train (0 or empty: keep).
	InnerSteps int     `yaml:"inner_steps,omitempty"`
	InnerLR    float64 `yaml:"inner_lr,omitempty"`
	OuterLR    float64 `yaml:"outer_lr,omitempty"`
	Steps      int     `yaml:"steps,omitempty"`
	// Epochs overrides the epochs a multvae or lightgcn run trains: its
	// section's epochs, or meta_epochs for a multvae joint or maml run.
	Epochs int `yaml:"epochs,omitempty"`
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
	Evaluate Evaluate `yaml:"evaluate"`
	Train    Train    `yaml:"train"`

	// Raw keeps each top-level section's YAML node, so a stage can hash exactly
	// the sections it depends on. (Values, not pointers: yaml.v3 leaves a
	// *yaml.Node map value empty, which made every hash that of a null.)
	raw map[string]yaml.Node
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
	var raw map[string]yaml.Node
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

// Hash returns a hex sha256 over the canonical YAML of the named params, the
// params a stage declares: top-level sections, or keys under one written
// dotted as dvc.yaml tracks them ("evaluate.peers"), so a stage that reads
// part of a section is not re-run by the rest. Comments and key order in
// the file do not change it; values do.
func (p *Params) Hash(sections ...string) (string, error) {
	h := sha256.New()
	for _, s := range sections {
		node, err := p.node(s)
		if err != nil {
			return "", err
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

// node finds a top-level section or a dotted key under one.
func (p *Params) node(key string) (*yaml.Node, error) {
	parts := strings.Split(key, ".")
	top, ok := p.raw[parts[0]]
	node := &top
	if !ok {
		return nil, fmt.Errorf("params: no section %q", parts[0])
	}
	for i, part := range parts[1:] {
		var next *yaml.Node
		if node.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(node.Content); j += 2 {
				if node.Content[j].Value == part {
					next = node.Content[j+1]
					break
				}
			}
		}
		if next == nil {
			return nil, fmt.Errorf("params: no key %q", strings.Join(parts[:i+2], "."))
		}
		node = next
	}
	return node, nil
}
