// Package serve is the adapt-and-recommend path: a new user names a
// domain and a few (item id, rating) pairs in the published scale (stars
// or play counts); every value is checked where it enters, the ratings are
// normalised with the scaler fitted on meta-train users, the model adapts
// to them, and the whole catalogue of the domain is scored and the best
// items returned. The command line (cmd/recommend) and the HTTP endpoint
// (Handler) share this one path, so they accept and refuse the same inputs.
//
// Any trained model the evaluation can load is served through the scorer
// contract (lib/recommend): lib/models' NCF, FCNN and meta-learned exports,
// the Mult-VAE (lib/vae) and LightGCN (lib/gnn).
package serve

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/crossrec/crossrec/lib/adapt"
	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/gnn"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/normalize"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/vae"
)

// Limits on one request. They bound the work and memory a caller can ask
// for, whatever it sends.
const (
	// MaxN is the most items one answer lists: more than anyone reads, and
	// it keeps an answer's JSON under about 100 KB.
	MaxN = 1000
	// DefaultN is n when a JSON request leaves it out.
	DefaultN = 10
	// MaxRatings bounds the support set. The service is for users new to a
	// domain (the evaluation adapts on K <= 20), and lib/models compiles
	// one adaptation graph per support size rounded up to 8, kept for the
	// process's life: 100 ratings means at most 13 of them.
	MaxRatings = 100
	// MaxPlays is the largest play count taken. Play counts have no
	// published ceiling; a lifetime of non-stop listening is about 1e7
	// plays, so anything above 1e8 is a typo. It also keeps the normalised
	// value near the fitted range (about 1.5 on the Last.fm scaler), where
	// the adaptation's gradient steps stay finite.
	MaxPlays = 1e8
)

// InputError is a value a caller sent that the service refuses: the
// server answers it with a 4xx, the command with exit status 2. Anything
// else is the service's own failure.
type InputError struct {
	Field  string // where the value was: domain, n, ratings, ratings[i].item, ratings[i].value, body
	Rating int    // index of the rating the error is about, -1 for none
	Msg    string // what is wrong, naming the offending value
	Err    error  // the underlying error, if any
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

func (e *InputError) Unwrap() error { return e.Err }

// IsInput reports whether err is (or wraps) an InputError.
func IsInput(err error) bool {
	var e *InputError
	return errors.As(err, &e)
}

func inputErr(field string, format string, args ...any) *InputError {
	return &InputError{Field: field, Rating: -1, Msg: fmt.Sprintf(format, args...)}
}

func ratingErr(i int, part string, format string, args ...any) *InputError {
	return &InputError{Field: fmt.Sprintf("ratings[%d].%s", i, part), Rating: i, Msg: fmt.Sprintf(format, args...)}
}

// Rating is one of the user's ratings, by published item id.
type Rating struct {
	Item  string  `json:"item"`
	Value float64 `json:"value"` // in the published scale (stars, plays)
}

// Request asks for the N best items of Domain for a user known by Ratings.
type Request struct {
	Domain  string   `json:"domain"`
	Ratings []Rating `json:"ratings"`
	N       int      `json:"n"`
}

// Rec is one recommended item. Value and Predicted are left out for
// ranking-only models (Mult-VAE, LightGCN): their scores order items but
// are not ratings, and the service does not invent one.
type Rec struct {
	Rank      int      `json:"rank"`
	Item      string   `json:"item"`
	Index     int32    `json:"index"`
	Score     float32  `json:"score"`               // ranking score (the order)
	Value     *float32 `json:"value,omitempty"`     // predicted normalised value
	Predicted *float64 `json:"predicted,omitempty"` // the same in the published scale
}

// Response is the answer to a Request.
type Response struct {
	Model  string `json:"model"`
	Domain string `json:"domain"`
	Items  []Rec  `json:"items"`
}

// domainInfo is what the service needs to check and score one domain.
type domainInfo struct {
	name   string
	ids    []string
	index  map[string]int32 // item id -> index
	scaler schema.Scaler    // the rating or playcount scaler
}

// Service serves one model over one catalogue. It is safe for concurrent
// use.
type Service struct {
	scorer      recommend.Scorer
	ranker      recommend.Ranker // nil when the scorer ranks by its prediction
	rankingOnly bool
	serial      bool // the scorer is not safe for concurrent calls: mu guards it
	mu          sync.Mutex
	domains     []domainInfo
	// Source is the model folder the service was opened from (Open), for
	// messages.
	Source string
}

// New builds a service from a loaded model, the items table and the
// normalisation scalers (artifacts/normalize/scalers.parquet). Every
// domain of the catalogue needs a usable rating or playcount scaler:
// without one its ratings cannot be brought to the model's scale, and it
// is better refused at start than on a user's request.
func New(sc recommend.Scorer, items *tasks.ItemTable, scalersPath string) (*Service, error) {
	scalers, _, err := artifact.ReadAll[schema.Scaler](scalersPath)
	if err != nil {
		return nil, err
	}
	return newService(sc, items, scalers, scalersPath)
}

func newService(sc recommend.Scorer, items *tasks.ItemTable, scalers []schema.Scaler, scalersPath string) (*Service, error) {
	if sc == nil || items == nil || len(items.Domains) == 0 {
		return nil, errors.New("serve: a model and a non-empty items table are needed")
	}
	s := &Service{scorer: sc}
	if r, ok := sc.(recommend.Ranker); ok {
		s.ranker = r
	}
	if r, ok := sc.(interface{ RankingOnly() bool }); ok {
		s.rankingOnly = r.RankingOnly()
	}
	if c, ok := sc.(interface{ Concurrent() bool }); !ok || !c.Concurrent() {
		s.serial = true
	}
	byDomain := map[string]schema.Scaler{}
	for _, x := range scalers {
		if x.Feature == "rating" || x.Feature == "playcount" {
			if _, dup := byDomain[x.Domain]; dup {
				return nil, fmt.Errorf("%s: domain %s has two rating or playcount scalers", scalersPath, x.Domain)
			}
			byDomain[x.Domain] = x
		}
	}
	for _, d := range items.Domains {
		x, ok := byDomain[d.Name]
		if !ok {
			return nil, fmt.Errorf("%s: no rating or playcount scaler for domain %s (the items table and the scalers come from different runs?)", scalersPath, d.Name)
		}
		if err := checkScaler(x); err != nil {
			return nil, fmt.Errorf("%s: domain %s: %w", scalersPath, d.Name, err)
		}
		idx := make(map[string]int32, len(d.IDs))
		for i, id := range d.IDs {
			idx[id] = int32(i)
		}
		s.domains = append(s.domains, domainInfo{name: d.Name, ids: d.IDs, index: idx, scaler: x})
	}
	return s, nil
}

// checkScaler accepts only the scalers lib/normalize fits for ratings
// (min-max over the stars) and play counts (min-max over log1p), with a
// finite range: anything else would make normalize.Apply panic or give
// NaN.
func checkScaler(x schema.Scaler) error {
	want := map[string]string{"rating": normalize.MinMax, "playcount": normalize.Log1pMinMax}[x.Feature]
	if x.Method != want {
		return fmt.Errorf("%s scaler has method %q, want %q", x.Feature, x.Method, want)
	}
	if !finite(x.Min) || !finite(x.Max) || x.Min > x.Max {
		return fmt.Errorf("%s scaler has range [%g, %g]", x.Feature, x.Min, x.Max)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// fmtNum writes a float the way a user would type it back.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// checkValue says what is wrong with a rating value in the domain's
// published scale, "" when nothing is.
//
// Stars: the scale is the scaler's own range, the extremes of the
// meta-train users' ratings. The readers (lib/ingest ratings.go) accept
// MovieLens csv as 0.5 to 5 in half stars and ml-1m, ml-100k, goodbooks and
// Douban as integers 1 to 5, and tens of thousands of training ratings per
// domain reach both ends: artifacts/normalize/scalers.parquet has movies
// [0.5, 5] and books, douban_book, douban_music [1, 5]. Values between the
// steps are taken: the models read a continuous normalised value.
//
// Plays: lib/clean drops non-positive play counts and the scaler's minimum
// is log1p(1) (the smallest count is 1 play), with no published ceiling,
// so any positive count up to MaxPlays is taken.
func (d *domainInfo) checkValue(v float64) string {
	if !finite(v) {
		return fmtNum(v) + " is not a finite number"
	}
	sc := &d.scaler
	if sc.Method == normalize.Log1pMinMax {
		if v <= 0 || v > MaxPlays {
			return fmt.Sprintf("%s is not a play count of %s (a positive number up to %g)", fmtNum(v), d.name, float64(MaxPlays))
		}
		return ""
	}
	if v < sc.Min || v > sc.Max {
		return fmt.Sprintf("%s is outside the %s rating scale %s to %s", fmtNum(v), d.name, fmtNum(sc.Min), fmtNum(sc.Max))
	}
	return ""
}

// Domains lists the domains served.
func (s *Service) Domains() []string {
	out := make([]string, len(s.domains))
	for i, d := range s.domains {
		out[i] = d.name
	}
	return out
}

// Model is the served model's name.
func (s *Service) Model() string { return s.scorer.Name() }

// RankingOnly reports whether the model's scores are not ratings, so
// answers carry no predicted value.
func (s *Service) RankingOnly() bool { return s.rankingOnly }

// Recommend validates the request, adapts to the ratings and returns the
// n best items of the domain's catalogue, rated items excluded, best first
// (ties by catalogue index, so the order is deterministic). A bad request
// is an *InputError naming the field and the value; no answer ever holds
// a NaN or an infinity.
func (s *Service) Recommend(req Request) (*Response, error) {
	d := slices.IndexFunc(s.domains, func(x domainInfo) bool { return x.name == req.Domain })
	if d < 0 {
		return nil, inputErr("domain", "%q is not served (have %s)", req.Domain, strings.Join(s.Domains(), ", "))
	}
	dom := &s.domains[d]
	if req.N < 1 || req.N > MaxN {
		return nil, inputErr("n", "%d is not between 1 and %d", req.N, MaxN)
	}
	if req.N > len(dom.ids) {
		return nil, inputErr("n", "%d is more than the %d items of %s", req.N, len(dom.ids), dom.name)
	}
	if len(req.Ratings) > MaxRatings {
		return nil, inputErr("ratings", "%d ratings, at most %d are taken", len(req.Ratings), MaxRatings)
	}
	support := make([]tasks.Rated, 0, len(req.Ratings))
	first := make(map[int32]int, len(req.Ratings)) // item -> the rating that named it first
	sc := &dom.scaler
	for i, r := range req.Ratings {
		idx, ok := dom.index[r.Item]
		if !ok {
			return nil, ratingErr(i, "item", "%q is not an item of %s", r.Item, dom.name)
		}
		if j, dup := first[idx]; dup {
			return nil, ratingErr(i, "item", "%q is rated twice (first by rating %d of the list)", r.Item, j+1)
		}
		first[idx] = i
		if msg := dom.checkValue(r.Value); msg != "" {
			return nil, ratingErr(i, "value", "%s", msg)
		}
		norm := float32(normalize.Apply(sc.Method, sc.Min, sc.Max, sc.Mean, sc.Std, r.Value))
		if !finite(float64(norm)) { // unreachable after checkValue; a guard for future scalers
			return nil, ratingErr(i, "value", "%s normalises to %g", fmtNum(r.Value), norm)
		}
		support = append(support, tasks.Rated{Item: idx, Norm: norm, Raw: float32(r.Value)})
	}
	rated := make([]bool, len(dom.ids))
	for _, x := range support {
		rated[x.Item] = true
	}
	cands := make([]int32, 0, len(dom.ids)-len(support))
	for i, r := range rated {
		if !r {
			cands = append(cands, int32(i))
		}
	}
	pred, rank, err := s.score(int32(d), support, cands)
	if err != nil {
		return nil, err
	}
	// A non-finite score would order the catalogue arbitrarily (NaN
	// compares false with everything) and cannot be written as JSON: the
	// request fails instead of answering nonsense.
	for j, v := range rank {
		if !finite(float64(v)) {
			return nil, fmt.Errorf("%s: %s item %s got the non-finite score %g", s.scorer.Name(), dom.name, dom.ids[cands[j]], v)
		}
	}
	top := topN(rank, cands, req.N)
	out := &Response{Model: s.scorer.Name(), Domain: dom.name, Items: make([]Rec, len(top))}
	for k, j := range top {
		c := cands[j]
		r := Rec{Rank: k + 1, Item: dom.ids[c], Index: c, Score: rank[j]}
		if pred != nil {
			v := pred[j]
			p := normalize.Invert(sc.Method, sc.Min, sc.Max, float64(v))
			if !finite(float64(v)) || !finite(p) {
				return nil, fmt.Errorf("%s: %s item %s got the non-finite prediction %g", s.scorer.Name(), dom.name, dom.ids[c], v)
			}
			r.Value, r.Predicted = &v, &p
		}
		out.Items[k] = r
	}
	return out, nil
}

// score runs the model: predictions (nil for a ranking-only model) and
// the ranking scores. A panic inside a model (GoMLX reports graph errors
// by panicking) becomes an error here, the boundary between the models
// and their callers.
func (s *Service) score(d int32, support []tasks.Rated, cands []int32) (pred, rank []float32, err error) {
	if s.serial {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	defer func() {
		if r := recover(); r != nil {
			pred, rank, err = nil, nil, fmt.Errorf("%s: scoring panicked: %v", s.scorer.Name(), r)
		}
	}()
	if s.ranker != nil && !s.rankingOnly {
		pred, rank, err = s.ranker.ScoreRank(d, support, cands)
	} else {
		rank, err = s.scorer.Score(d, support, cands)
		if !s.rankingOnly {
			pred = rank
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if len(rank) != len(cands) || (pred != nil && len(pred) != len(cands)) {
		return nil, nil, fmt.Errorf("%s: %d scores for %d candidates", s.scorer.Name(), len(rank), len(cands))
	}
	return pred, rank, nil
}

// topN returns the positions of the n highest scores, best first, ties
// by the lower candidate index. A bounded min-heap keeps the n best seen
// so far, so the catalogue is never sorted whole.
func topN(score []float32, cands []int32, n int) []int {
	n = min(n, len(score))
	if n <= 0 {
		return nil
	}
	// worse reports whether position a ranks below position b.
	worse := func(a, b int) bool {
		if score[a] != score[b] {
			return score[a] < score[b]
		}
		return cands[a] > cands[b]
	}
	h := make([]int, 0, n) // h[0] is the worst of the kept
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && worse(h[r], h[l]) {
				m = r
			}
			if !worse(h[m], h[i]) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for j := range score {
		if len(h) < n {
			h = append(h, j)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(h[i], h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
			continue
		}
		if worse(h[0], j) {
			h[0] = j
			down(0)
		}
	}
	// Pop the worst to the back: h ends sorted best first.
	for end := len(h) - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		full := h
		h = h[:end]
		down(0)
		h = full
	}
	return h
}

// Verify scores every domain once for the pure cold start (no ratings)
// and checks the answer: a model whose weights give non-finite scores, or
// that fails on its own catalogue, is refused at start rather than on a
// user's request. It also computes each domain's item tower, so the first
// request does not pay for it.
func (s *Service) Verify() error {
	for _, d := range s.domains {
		if _, err := s.Recommend(Request{Domain: d.name, N: min(DefaultN, len(d.ids))}); err != nil {
			return fmt.Errorf("%s: model check on %s: %w", s.scorer.Name(), d.name, err)
		}
	}
	return nil
}

// LoadScorer loads the model exported in dir (one seed's folder),
// dispatching on its architecture as the evaluate stage does
// (lib/pipeline/evaluate.go): the Mult-VAE and LightGCN name theirs in
// model.json, lib/models' own exports name none (served by lib/adapt's
// plain-Go adaptation, which scores as models.Model does).
func LoadScorer(dir string, items *tasks.ItemTable) (recommend.Scorer, error) {
	switch arch := models.ArchOf(dir); arch {
	case vae.Arch:
		return vae.Load(dir, items)
	case gnn.Arch:
		return gnn.Load(dir, items)
	case "":
		// lib/models' exports, served with the adaptation in plain Go.
		return adapt.Load(dir, items)
	default:
		return nil, fmt.Errorf("%s: arch %q is not one this build serves (%s, %s, or lib/models' own)", filepath.Join(dir, models.HeaderFile), arch, vae.Arch, gnn.Arch)
	}
}

// Paths of the pipeline artifacts a service reads, relative to the
// repository root.
const (
	ItemsPath   = "artifacts/tasks/items.arrow"
	ScalersPath = "artifacts/normalize/scalers.parquet"
)

// Open loads the service of the model exported in modelDir (relative to
// root unless absolute) over root's items table and scalers. A model
// folder with several seeds serves its first seed (Source says which).
func Open(root, modelDir string) (*Service, error) {
	path := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	items, _, err := tasks.LoadItems(path(ItemsPath))
	if err != nil {
		return nil, err
	}
	dir := path(modelDir)
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("model folder %s is not a folder", dir)
	}
	seeds, err := models.SeedDirs(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(seeds) > 0 {
		dir = seeds[0]
	} else if _, err := os.Stat(filepath.Join(dir, models.HeaderFile)); err != nil {
		return nil, fmt.Errorf("%s holds no exported model (no %s, no %s<s> folders): train one, or name its folder with -model", dir, models.HeaderFile, models.SeedPrefix)
	}
	sc, err := LoadScorer(dir, items)
	if err != nil {
		return nil, err
	}
	s, err := New(sc, items, path(ScalersPath))
	if err != nil {
		return nil, err
	}
	s.Source = dir
	return s, nil
}
