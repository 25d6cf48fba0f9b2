package baselines

import (
	"fmt"
	"slices"

	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Train is train.arrow reduced to what the fitted models need: per domain,
// every (user, item, normalised value) row of every meta-train task,
// support and query alike, with users numbered per domain in file order.
type Train struct {
	Items  []int // catalogue size per domain
	Users  [][]int32
	ItemOf [][]int32
	Norm   [][]float64
	NUsers []int
	// UserID[d][u] is the id (e.g. "douban:12") of domain d's user u:
	// the cross-domain peers pair a person's rows across domains by it.
	UserID [][]string
}

// NewTrain collects the rows. It refuses any episode that is not a
// meta-train task: the fitted models must never see a held-out user, and
// this is where that is enforced rather than assumed.
func NewTrain(train []tasks.Episode, catalogue []int) (*Train, error) {
	nd := len(catalogue)
	t := &Train{Items: catalogue, Users: make([][]int32, nd), ItemOf: make([][]int32, nd), Norm: make([][]float64, nd), NUsers: make([]int, nd), UserID: make([][]string, nd)}
	for _, e := range train {
		if e.Group != split.Train {
			return nil, fmt.Errorf("baselines: user %q of %s is a %q episode; baselines fit on meta-train episodes only", e.User, e.Domain, e.Group)
		}
		d := int(e.DomainIndex)
		if d < 0 || d >= nd {
			return nil, fmt.Errorf("baselines: user %q: domain index %d out of range", e.User, d)
		}
		u := int32(t.NUsers[d])
		t.NUsers[d]++
		t.UserID[d] = append(t.UserID[d], e.User)
		for _, set := range [][]tasks.Rated{e.Support, e.Query} {
			for _, x := range set {
				if int(x.Item) >= catalogue[d] || x.Item < 0 {
					return nil, fmt.Errorf("baselines: user %q of %s: item %d outside the catalogue", e.User, e.Domain, x.Item)
				}
				t.Users[d] = append(t.Users[d], u)
				t.ItemOf[d] = append(t.ItemOf[d], x.Item)
				t.Norm[d] = append(t.Norm[d], float64(x.Norm))
			}
		}
	}
	return t, nil
}

// Means returns each domain's mean normalised value. A domain without
// training rows (the held-out domain of a leave-one-domain-out fit) gets
// the pooled mean of all rows: the best constant a model that has never
// seen the domain can know.
func (t *Train) Means() []float64 {
	mu := make([]float64, len(t.Items))
	var sum float64
	var n int
	for d := range t.Norm {
		for _, v := range t.Norm[d] {
			sum += v
		}
		n += len(t.Norm[d])
	}
	pooled := 0.5 // the middle of the normalised scale when there is no data at all
	if n > 0 {
		pooled = sum / float64(n)
	}
	for d := range t.Norm {
		if len(t.Norm[d]) == 0 {
			mu[d] = pooled
			continue
		}
		var s float64
		for _, v := range t.Norm[d] {
			s += v
		}
		mu[d] = s / float64(len(t.Norm[d]))
	}
	return mu
}

// UserItems returns domain d's users as sorted lists of distinct items:
// the binary user-item matrix the item-based peers fit on.
func (t *Train) UserItems(d int) [][]int32 {
	users := make([][]int32, t.NUsers[d])
	for r, u := range t.Users[d] {
		users[u] = append(users[u], t.ItemOf[d][r])
	}
	for u := range users {
		slices.Sort(users[u])
		users[u] = slices.Compact(users[u])
	}
	return users
}

// itemUsers transposes sorted user lists into each item's sorted users.
func itemUsers(users [][]int32, n int) [][]int32 {
	out := make([][]int32, n)
	for u, items := range users {
		for _, i := range items {
			out[i] = append(out[i], int32(u))
		}
	}
	return out
}

// constant fills a score vector with one value.
func constant(v float32, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// lookup gathers per-item values for the candidates; an index outside the
// table is an error, never a silent zero.
func lookup(name string, table []float32, domain int32, cands []int32) ([]float32, error) {
	out := make([]float32, len(cands))
	for j, c := range cands {
		if c < 0 || int(c) >= len(table) {
			return nil, fmt.Errorf("%s: candidate item %d outside the %d items of domain %d", name, c, len(table), domain)
		}
		out[j] = table[c]
	}
	return out, nil
}

func checkDomain(name string, domain int32, n int) error {
	if domain < 0 || int(domain) >= n {
		return fmt.Errorf("%s: domain index %d out of range", name, domain)
	}
	return nil
}

// fitted returns a peer's state for domain, or an error when the domain
// is out of range or was not fitted (it had no training users: a peer
// fitted per domain has nothing to rank an unseen domain by).
func fitted[T any](name string, dom []*T, domain int32) (*T, error) {
	if err := checkDomain(name, domain, len(dom)); err != nil {
		return nil, err
	}
	if dom[domain] == nil {
		return nil, fmt.Errorf("%s: domain %d had no training users: it cannot rank a domain it was not fitted on", name, domain)
	}
	return dom[domain], nil
}

// checkRequest refuses support or candidate items outside a catalogue of n.
func checkRequest(name string, domain int32, n int, support, cands []int32) error {
	if err := checkItems(name, "support", domain, n, support); err != nil {
		return err
	}
	return checkItems(name, "candidate", domain, n, cands)
}

// checkItems refuses support or candidate indices outside a catalogue of n.
func checkItems(name, what string, domain int32, n int, items []int32) error {
	for _, i := range items {
		if i < 0 || int(i) >= n {
			return fmt.Errorf("%s: %s item %d outside the %d items of domain %d", name, what, i, n, domain)
		}
	}
	return nil
}

func supportItems(support []tasks.Rated) []int32 {
	out := make([]int32, len(support))
	for i, x := range support {
		out[i] = x.Item
	}
	return out
}
