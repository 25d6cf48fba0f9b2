package split

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
)

// Paths names the stage's artifacts.
type Paths struct {
	InInteractions, InItems string
	OutInteractions, Report string
}

// GroupReport counts one group of one domain.
type GroupReport struct {
	Users        int   `json:"users"`
	Interactions int64 `json:"interactions"`
	Tasks        int   `json:"tasks"` // users with enough interactions for a task
	ColdQuery    int64 `json:"item_cold_query"`
	Temporal     int   `json:"temporal_users"` // users ordered by time
}

// Report is the split stage's metric: per domain and group.
type Report struct {
	MaxK    int                                `json:"max_k"`
	Domains map[string]map[string]*GroupReport `json:"domains"`
}

// MaxK is the largest support size any protocol uses: held-out users' query
// sets start there.
func MaxK(cfg params.Split) int {
	k := cfg.SupportK
	for _, c := range cfg.CurveKs {
		k = max(k, c)
	}
	return k
}

// QueryStart is the first query rank for a user of group g.
func QueryStart(cfg params.Split, group string) int {
	if group == Train {
		return cfg.SupportK
	}
	return MaxK(cfg)
}

// Eligible says whether a user with n interactions in a domain makes a task.
func Eligible(cfg params.Split, group string, n int) bool {
	return n >= QueryStart(cfg, group)+max(cfg.MinQuery, 1)
}

// Run splits the normalised interactions.
func Run(p Paths, cfg params.Split, lineage artifact.Lineage) (*Report, error) {
	assign := Assigner{Seed: cfg.Seed, Train: cfg.Train, Valid: cfg.Valid}
	feats, _, err := artifact.ReadAll[schema.ItemFeatures](p.InItems)
	if err != nil {
		return nil, err
	}
	itemIndex := make(map[[2]string]int32, len(feats))
	for _, f := range feats {
		itemIndex[[2]string{f.Domain, f.Item}] = f.Index
	}
	var rows []schema.SplitInteraction
	warm := map[[2]string]bool{}
	_, err = artifact.Scan(p.InInteractions, 8192, func(xs []schema.NormInteraction) error {
		for _, x := range xs {
			idx, ok := itemIndex[[2]string{x.Domain, x.Item}]
			if !ok {
				return fmt.Errorf("%s: item %q of domain %q (line %d of %s) has no feature row", p.InInteractions, x.Item, x.Domain, x.Line, x.Source)
			}
			g := assign.Group(x.User)
			if g == Train {
				warm[[2]string{x.Domain, x.Item}] = true
			}
			rows = append(rows, schema.SplitInteraction{Domain: x.Domain, User: x.User, Item: x.Item, ItemIndex: idx, Value: x.Value, Norm: x.Norm, Timestamp: x.Timestamp, Group: g})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Group by (domain, user); order rows within by time or seeded hash.
	slices.SortStableFunc(rows, func(a, b schema.SplitInteraction) int {
		if c := cmp.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return cmp.Compare(a.User, b.User)
	})
	rep := &Report{MaxK: MaxK(cfg), Domains: map[string]map[string]*GroupReport{}}
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].Domain == rows[i].Domain && rows[j].User == rows[i].User {
			j++
		}
		order(rows[i:j], cfg)
		g := rows[i].Group
		if rep.Domains[rows[i].Domain] == nil {
			rep.Domains[rows[i].Domain] = map[string]*GroupReport{Train: {}, Valid: {}, Test: {}}
		}
		gr := rep.Domains[rows[i].Domain][g]
		gr.Users++
		gr.Interactions += int64(j - i)
		if Eligible(cfg, g, j-i) {
			gr.Tasks++
		}
		if rows[i].Temporal {
			gr.Temporal++
		}
		qs := QueryStart(cfg, g)
		for r := i; r < j; r++ {
			x := &rows[r]
			x.Rank, x.N = int32(r-i), int32(j-i)
			x.ItemCold = !warm[[2]string{x.Domain, x.Item}]
			if x.ItemCold && int(x.Rank) >= qs {
				gr.ColdQuery++
			}
		}
		i = j
	}
	w, err := artifact.Create[schema.SplitInteraction](p.OutInteractions, lineage)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	for i := 0; i < len(rows); i += 8192 {
		if err := w.Write(rows[i:min(i+8192, len(rows))]); err != nil {
			return nil, err
		}
	}
	if _, err := w.Close(); err != nil {
		return nil, err
	}
	return rep, artifact.WriteJSON(p.Report, rep)
}

// order ranks one user's rows in one domain: by time when cfg.Temporal and
// every row has a timestamp (ties by item), else by a seeded hash of the
// item, which is a shuffle that does not depend on file order.
func order(rows []schema.SplitInteraction, cfg params.Split) {
	temporal := cfg.Temporal
	for _, x := range rows {
		if x.Timestamp == nil {
			temporal = false
			break
		}
	}
	if temporal {
		slices.SortFunc(rows, func(a, b schema.SplitInteraction) int {
			if c := cmp.Compare(*a.Timestamp, *b.Timestamp); c != 0 {
				return c
			}
			return cmp.Compare(a.Item, b.Item)
		})
	} else {
		keys := make(map[string]uint64, len(rows))
		for _, x := range rows {
			keys[x.Item] = shuffleKey(cfg.Seed, x.Domain, x.User, x.Item)
		}
		slices.SortFunc(rows, func(a, b schema.SplitInteraction) int {
			if c := cmp.Compare(keys[a.Item], keys[b.Item]); c != 0 {
				return c
			}
			return cmp.Compare(a.Item, b.Item)
		})
	}
	for i := range rows {
		rows[i].Temporal = temporal
	}
}

func shuffleKey(seed uint64, domain, user, item string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(item))
	return mix(h.Sum64())
}

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
