package eval

import (
	"fmt"
	"path/filepath"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/metrics"
	"github.com/crossrec/crossrec/lib/normalize"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Domain is what the evaluation knows about one domain's catalogue.
type Domain struct {
	Name  string
	Index int32
	Items int // catalogue size: every item of items.arrow in the domain
	// Kind is the value kind, schema.KindRating or schema.KindPlaycount,
	// read from the domain's scaler: it picks the relevance rule and the
	// unit of the error metrics.
	Kind   string
	Scaler schema.Scaler
	// Cold[i]: no row of train.arrow has item i (tasks.Rated.Cold's rule,
	// extended to the whole catalogue).
	Cold []bool
	// TrainUsers is the number of meta-train users of the domain, and
	// TrainCount[i] how many of them have item i in train.arrow; Pop is the
	// smoothed popularity novelty is measured against.
	TrainUsers int
	TrainCount []int64
	Pop        []float64
}

// Unit names the unit error metrics are reported in.
func (d *Domain) Unit() string {
	if d.Kind == schema.KindRating {
		return "stars"
	}
	return "normalised log1p plays"
}

// reportValues converts a prediction on the normalised scale and a query
// item to the reporting unit: stars for rating domains (the min-max scaler
// inverted, observed = the raw rating), the normalised log scale for play
// counts (observed = the normalised value), where raw plays span five
// orders of magnitude and an error in plays would be dominated by a few
// heavy listeners.
func (d *Domain) reportValues(pred float32, x tasks.Rated) (p, obs float64) {
	if d.Kind == schema.KindRating {
		s := d.Scaler
		return normalize.Invert(s.Method, s.Min, s.Max, float64(pred)), float64(x.Raw)
	}
	return float64(pred), float64(x.Norm)
}

// CrossSet is one cross-domain pair's held-out users.
type CrossSet struct {
	Name string // <source>_to_<target>
	Pair params.CrossPair
	Test []tasks.Episode
}

// Data is every input of the evaluation, loaded and checked.
type Data struct {
	Domains []Domain // by domain index
	Items   *tasks.ItemTable
	// Task files: meta-train, meta-validation, meta-test and the warm
	// holdouts of meta-train users.
	Train, Valid, Test, Warm []tasks.Episode
	Cross                    []CrossSet
	// Inputs maps each file read to its content hash, for lineage.
	Inputs map[string]string
}

// Domain returns the domain called name, or nil.
func (d *Data) Domain(name string) *Domain {
	for i := range d.Domains {
		if d.Domains[i].Name == name {
			return &d.Domains[i]
		}
	}
	return nil
}

// Load reads the task files and the scalers and checks them (NewData).
func Load(tasksDir, scalersPath string, pairs []params.CrossPair) (*Data, error) {
	inputs := map[string]string{}
	items, l, err := tasks.LoadItems(filepath.Join(tasksDir, "items.arrow"))
	if err != nil {
		return nil, err
	}
	inputs["items.arrow"] = l.ContentSHA256
	load := func(name string) ([]tasks.Episode, error) {
		eps, l, err := tasks.LoadEpisodes(filepath.Join(tasksDir, name+".arrow"))
		if err != nil {
			return nil, err
		}
		inputs[name+".arrow"] = l.ContentSHA256
		return eps, nil
	}
	files := map[string][]tasks.Episode{}
	for _, g := range []string{split.Train, split.Valid, split.Test, tasks.Warm} {
		if files[g], err = load(g); err != nil {
			return nil, err
		}
	}
	var cross []CrossSet
	for _, p := range pairs {
		name := p.Source + "_to_" + p.Target
		eps, err := load("cross_" + name + "_" + split.Test)
		if err != nil {
			return nil, err
		}
		cross = append(cross, CrossSet{Name: name, Pair: p, Test: eps})
	}
	scalers, sl, err := artifact.ReadAll[schema.Scaler](scalersPath)
	if err != nil {
		return nil, err
	}
	inputs["scalers.parquet"] = sl.ContentSHA256
	d, err := NewData(items, files[split.Train], files[split.Valid], files[split.Test], files[tasks.Warm], cross, scalers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tasksDir, err)
	}
	d.Inputs = inputs
	return d, nil
}

// NewData assembles the evaluation's inputs from memory and checks the
// invariants the protocol rests on: held-out users never appear among
// meta-train or meta-validation users, support and query never share an
// item, item indices lie in their catalogue, and the cold flags agree with
// train.arrow. Errors name the task file (train.arrow, test.arrow, ...) and
// the user.
func NewData(items *tasks.ItemTable, train, valid, test, warm []tasks.Episode, cross []CrossSet, scalers []schema.Scaler) (*Data, error) {
	d := &Data{Items: items, Train: train, Valid: valid, Test: test, Warm: warm, Cross: cross, Inputs: map[string]string{}}
	if err := d.buildDomains(scalers, "scalers.parquet"); err != nil {
		return nil, err
	}
	if err := d.check(""); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Data) buildDomains(scalers []schema.Scaler, scalersPath string) error {
	for i, it := range d.Items.Domains {
		dom := Domain{Name: it.Name, Index: int32(i), Items: len(it.IDs)}
		for _, s := range scalers {
			if s.Domain == it.Name && (s.Feature == schema.KindRating || s.Feature == schema.KindPlaycount) {
				if dom.Kind != "" {
					return fmt.Errorf("%s: domain %q has both a %s and a %s scaler", scalersPath, it.Name, dom.Kind, s.Feature)
				}
				dom.Kind, dom.Scaler = s.Feature, s
			}
		}
		if dom.Kind == "" {
			return fmt.Errorf("%s: domain %q has no rating or playcount scaler", scalersPath, it.Name)
		}
		if dom.Kind == schema.KindRating && dom.Scaler.Method != normalize.MinMax {
			return fmt.Errorf("%s: domain %q: rating scaler method %q, want %s (the evaluation inverts it to stars)", scalersPath, it.Name, dom.Scaler.Method, normalize.MinMax)
		}
		dom.Cold = make([]bool, dom.Items)
		for j := range dom.Cold {
			dom.Cold[j] = true
		}
		dom.TrainCount = make([]int64, dom.Items)
		d.Domains = append(d.Domains, dom)
	}
	for _, e := range d.Train {
		if int(e.DomainIndex) >= len(d.Domains) {
			continue // reported by check
		}
		dom := &d.Domains[e.DomainIndex]
		dom.TrainUsers++
		for _, set := range [][]tasks.Rated{e.Support, e.Query} {
			for _, x := range set {
				if int(x.Item) < dom.Items {
					dom.Cold[x.Item] = false
					dom.TrainCount[x.Item]++
				}
			}
		}
	}
	for i := range d.Domains {
		d.Domains[i].Pop = metrics.Popularity(d.Domains[i].TrainCount, d.Domains[i].TrainUsers)
	}
	return nil
}

// check verifies the invariants that make the scores trustworthy; any
// violation is an error naming the file and the user, never a warning.
func (d *Data) check(dir string) error {
	type file struct {
		name string
		eps  []tasks.Episode
	}
	files := []file{{split.Train, d.Train}, {split.Valid, d.Valid}, {split.Test, d.Test}, {tasks.Warm, d.Warm}}
	for _, c := range d.Cross {
		files = append(files, file{"cross_" + c.Name + "_" + split.Test, c.Test})
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name+".arrow")
		for _, e := range f.eps {
			if int(e.DomainIndex) >= len(d.Domains) || d.Domains[e.DomainIndex].Name != e.Domain {
				return fmt.Errorf("%s: user %q: domain %q (index %d) is not in items.arrow", path, e.User, e.Domain, e.DomainIndex)
			}
			dom := &d.Domains[e.DomainIndex]
			in := map[int32]bool{}
			for _, x := range e.Support {
				in[x.Item] = true
			}
			for _, set := range [][]tasks.Rated{e.Support, e.Query} {
				for _, x := range set {
					if x.Item < 0 || int(x.Item) >= dom.Items {
						return fmt.Errorf("%s: user %q: item index %d outside the %d items of %s", path, e.User, x.Item, dom.Items, e.Domain)
					}
					if x.Cold != dom.Cold[x.Item] {
						return fmt.Errorf("%s: user %q: item %d of %s is flagged cold=%v but train.arrow says %v", path, e.User, x.Item, e.Domain, x.Cold, dom.Cold[x.Item])
					}
				}
			}
			for _, x := range e.Query {
				if in[x.Item] {
					return fmt.Errorf("%s: user %q: item %d of %s is in both support and query", path, e.User, x.Item, e.Domain)
				}
			}
			if len(e.Query) == 0 {
				return fmt.Errorf("%s: user %q of %s: empty query", path, e.User, e.Domain)
			}
		}
	}
	// Held-out users must be people the baselines and models never fitted
	// on (train.arrow) nor tuned on (valid.arrow).
	users := func(eps []tasks.Episode) map[string]bool {
		m := map[string]bool{}
		for _, e := range eps {
			m[e.User] = true
		}
		return m
	}
	trainUsers, validUsers := users(d.Train), users(d.Valid)
	for u := range validUsers {
		if trainUsers[u] {
			return fmt.Errorf("%s: validation user %q also appears in train.arrow", filepath.Join(dir, "valid.arrow"), u)
		}
	}
	heldOut := []file{{split.Test, d.Test}}
	for _, c := range d.Cross {
		heldOut = append(heldOut, file{"cross_" + c.Name + "_" + split.Test, c.Test})
	}
	for _, f := range heldOut {
		for _, e := range f.eps {
			for _, g := range []struct {
				name  string
				users map[string]bool
			}{{split.Train, trainUsers}, {split.Valid, validUsers}} {
				if g.users[e.User] {
					return fmt.Errorf("%s: held-out user %q also appears in %s.arrow", filepath.Join(dir, f.name+".arrow"), e.User, g.name)
				}
			}
		}
	}
	// Warm episodes are meta-train users by definition.
	train := map[[2]string]bool{}
	for _, e := range d.Train {
		train[[2]string{e.Domain, e.User}] = true
	}
	for _, e := range d.Warm {
		if !train[[2]string{e.Domain, e.User}] {
			return fmt.Errorf("%s: warm user %q of %s has no meta-train task", filepath.Join(dir, "warm.arrow"), e.User, e.Domain)
		}
	}
	return nil
}

// domainNames lists the domains in index order.
func (d *Data) domainNames() []string {
	out := make([]string, len(d.Domains))
	for i, dom := range d.Domains {
		out[i] = dom.Name
	}
	return out
}
