// Package tasks assembles meta-learning tasks, one per (user, domain), from
// the split, and writes them as Arrow IPC files a trainer maps straight into
// tensors: one file per user group, so a training run that opens only
// train.arrow cannot see a held-out user.
//
// Each task row holds the support and query sets as item indices with their
// normalised and raw values; item features live once in items.arrow, indexed
// by (domain_index, index), rather than being repeated in every task.
// Cross-domain tasks (for domains that share users, the Douban pair) add the
// user's history in the source domain to a target-domain support and query.
package tasks

import (
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/split"
)

// Paths names the stage's inputs and its output folder.
type Paths struct {
	InSplit, InFeatures, InAligned string
	OutDir                         string
	Summary                        string
}

// Warm is the file of meta-train users' held-out interactions.
const Warm = "warm"

// Groups are written in this order, one file each.
var Groups = []string{split.Train, split.Valid, split.Test, Warm}

// warmHoldout is how many of a training user's n ranked interactions are
// held out for the warm states: ceil(share*n), or none when the rest would
// not make a training task.
func warmHoldout(cfg params.Split, share float64, n int) int {
	h := int(math.Ceil(share * float64(n)))
	if h < 1 || !split.Eligible(cfg, split.Train, n-h) {
		return 0
	}
	return h
}

// Summary counts tasks per domain and group, and cross-domain tasks per pair.
type Summary struct {
	Tasks map[string]map[string]int `json:"tasks"`
	Cross map[string]map[string]int `json:"cross_domain_tasks"`
	Items map[string]int            `json:"items"`
}

// Task is one user's task in one domain, in memory.
type Task struct {
	Domain      string
	DomainIndex int32
	User        string
	Group       string
	Support     []schema.SplitInteraction
	Query       []schema.SplitInteraction
}

// Build cuts one user's ranked rows of one domain into a task; ok is false
// when the user has too few interactions.
func Build(rows []schema.SplitInteraction, cfg params.Split) (t Task, ok bool) {
	if len(rows) == 0 {
		return t, false
	}
	g := rows[0].Group
	if !split.Eligible(cfg, g, len(rows)) {
		return t, false
	}
	supportN := cfg.SupportK
	if g != split.Train {
		supportN = split.MaxK(cfg) // held-out users keep every curve K; consumers take the first K
	}
	qs := split.QueryStart(cfg, g)
	q := rows[qs:]
	if cfg.MaxQuery > 0 && len(q) > cfg.MaxQuery {
		q = q[:cfg.MaxQuery]
	}
	return Task{Domain: rows[0].Domain, User: rows[0].User, Group: g, Support: rows[:supportN], Query: q}, true
}

// Run writes items.arrow, one task file per group, and the cross-domain
// task files.
func Run(p Paths, domains []string, cfg params.Split, tcfg params.Tasks, lineage artifact.Lineage) (*Summary, error) {
	domainIndex := map[string]int32{}
	for i, d := range domains {
		domainIndex[d] = int32(i)
	}
	rows, _, err := artifact.ReadAll[schema.SplitInteraction](p.InSplit)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Tasks: map[string]map[string]int{}, Cross: map[string]map[string]int{}, Items: map[string]int{}}
	if err := writeItems(p, domainIndex, lineage, sum); err != nil {
		return nil, err
	}
	// The split artifact is sorted by (domain, user) and ranked within.
	byGroup := map[string][]Task{}
	history := map[[2]string][]schema.SplitInteraction{}
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].Domain == rows[i].Domain && rows[j].User == rows[i].User {
			j++
		}
		di, known := domainIndex[rows[i].Domain]
		if known {
			k := [2]string{rows[i].Domain, rows[i].User}
			history[k] = rows[i:j]
			end := j
			if rows[i].Group == split.Train {
				if h := warmHoldout(cfg, tcfg.WarmHoldout, j-i); h > 0 {
					end = j - h
					w := Task{Domain: rows[i].Domain, DomainIndex: di, User: rows[i].User, Group: Warm, Support: rows[i:end], Query: rows[end:j]}
					byGroup[Warm] = append(byGroup[Warm], w)
					count(sum, w)
				}
			}
			if t, ok := Build(rows[i:end], cfg); ok {
				t.DomainIndex = di
				byGroup[t.Group] = append(byGroup[t.Group], t)
				count(sum, t)
			}
		}
		i = j
	}
	markCold(byGroup)
	for _, g := range Groups {
		rec := taskRecord(byGroup[g])
		_, err := artifact.WriteArrow(filepath.Join(p.OutDir, g+".arrow"), rec, lineage)
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	for _, pair := range tcfg.CrossDomain {
		if _, ok := domainIndex[pair.Source]; !ok {
			return nil, fmt.Errorf("tasks.cross_domain: source domain %q is not configured", pair.Source)
		}
		if _, ok := domainIndex[pair.Target]; !ok {
			return nil, fmt.Errorf("tasks.cross_domain: target domain %q is not configured", pair.Target)
		}
		name := pair.Source + "_to_" + pair.Target
		sum.Cross[name] = map[string]int{}
		for _, g := range Groups[:3] {
			var cross []crossTask
			for _, t := range byGroup[g] {
				if t.Domain != pair.Target {
					continue
				}
				h := history[[2]string{pair.Source, t.User}]
				if len(h) == 0 {
					continue
				}
				if tcfg.SourceHistory > 0 && len(h) > tcfg.SourceHistory {
					h = h[:tcfg.SourceHistory]
				}
				cross = append(cross, crossTask{Task: t, SourceIndex: domainIndex[pair.Source], Source: h})
			}
			sum.Cross[name][g] = len(cross)
			rec := crossRecord(cross)
			_, err := artifact.WriteArrow(filepath.Join(p.OutDir, "cross_"+name+"_"+g+".arrow"), rec, lineage)
			rec.Release()
			if err != nil {
				return nil, err
			}
		}
	}
	return sum, artifact.WriteJSON(p.Summary, sum)
}

func count(sum *Summary, t Task) {
	if sum.Tasks[t.Domain] == nil {
		sum.Tasks[t.Domain] = map[string]int{}
	}
	sum.Tasks[t.Domain][t.Group]++
}

// markCold sets ItemCold on every row of every task to "no row of
// train.arrow has this item": exactly what a model trained on train.arrow
// has never seen, warm holdouts included.
func markCold(byGroup map[string][]Task) {
	seen := map[[2]int32]bool{}
	for _, t := range byGroup[split.Train] {
		for _, x := range t.Support {
			seen[[2]int32{t.DomainIndex, x.ItemIndex}] = true
		}
		for _, x := range t.Query {
			seen[[2]int32{t.DomainIndex, x.ItemIndex}] = true
		}
	}
	for g, ts := range byGroup {
		for i := range ts {
			t := &ts[i]
			// Rows are shared with the split slice; copy before editing.
			t.Support = slices.Clone(t.Support)
			t.Query = slices.Clone(t.Query)
			for _, set := range [][]schema.SplitInteraction{t.Support, t.Query} {
				for k := range set {
					set[k].ItemCold = !seen[[2]int32{t.DomainIndex, set[k].ItemIndex}]
				}
			}
		}
		byGroup[g] = ts
	}
}

type crossTask struct {
	Task
	SourceIndex int32
	Source      []schema.SplitInteraction
}

var (
	int32List   = arrow.ListOf(arrow.PrimitiveTypes.Int32)
	float32List = arrow.ListOf(arrow.PrimitiveTypes.Float32)
	boolList    = arrow.ListOf(arrow.FixedWidthTypes.Boolean)
)

func setFields(prefix string) []arrow.Field {
	return []arrow.Field{
		{Name: prefix + "_items", Type: int32List},
		{Name: prefix + "_norm", Type: float32List},
		{Name: prefix + "_value", Type: float32List},
		{Name: prefix + "_item_cold", Type: boolList},
	}
}

// TaskSchema is the layout of train/valid/test.arrow.
var TaskSchema = arrow.NewSchema(append(append([]arrow.Field{
	{Name: "domain", Type: arrow.BinaryTypes.String},
	{Name: "domain_index", Type: arrow.PrimitiveTypes.Int32},
	{Name: "user", Type: arrow.BinaryTypes.String},
	{Name: "group", Type: arrow.BinaryTypes.String},
}, setFields("support")...), setFields("query")...), nil)

// CrossSchema is the layout of the cross-domain task files.
var CrossSchema = arrow.NewSchema(append(append(TaskSchema.Fields(),
	arrow.Field{Name: "source_domain_index", Type: arrow.PrimitiveTypes.Int32}),
	setFields("source")...), nil)

func appendSet(b *array.RecordBuilder, col int, xs []schema.SplitInteraction) {
	items := b.Field(col).(*array.ListBuilder)
	norm := b.Field(col + 1).(*array.ListBuilder)
	val := b.Field(col + 2).(*array.ListBuilder)
	cold := b.Field(col + 3).(*array.ListBuilder)
	items.Append(true)
	norm.Append(true)
	val.Append(true)
	cold.Append(true)
	iv := items.ValueBuilder().(*array.Int32Builder)
	nv := norm.ValueBuilder().(*array.Float32Builder)
	vv := val.ValueBuilder().(*array.Float32Builder)
	cv := cold.ValueBuilder().(*array.BooleanBuilder)
	for _, x := range xs {
		iv.Append(x.ItemIndex)
		nv.Append(float32(x.Norm))
		vv.Append(float32(x.Value))
		cv.Append(x.ItemCold)
	}
}

func appendTask(b *array.RecordBuilder, t Task) {
	b.Field(0).(*array.StringBuilder).Append(t.Domain)
	b.Field(1).(*array.Int32Builder).Append(t.DomainIndex)
	b.Field(2).(*array.StringBuilder).Append(t.User)
	b.Field(3).(*array.StringBuilder).Append(t.Group)
	appendSet(b, 4, t.Support)
	appendSet(b, 8, t.Query)
}

func sortTasks(ts []Task) {
	slices.SortFunc(ts, func(a, b Task) int {
		if c := cmp.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return cmp.Compare(a.User, b.User)
	})
}

func taskRecord(ts []Task) arrow.RecordBatch {
	sortTasks(ts)
	b := array.NewRecordBuilder(memory.DefaultAllocator, TaskSchema)
	defer b.Release()
	for _, t := range ts {
		appendTask(b, t)
	}
	return b.NewRecordBatch()
}

func crossRecord(ts []crossTask) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, CrossSchema)
	defer b.Release()
	for _, t := range ts {
		appendTask(b, t.Task)
		b.Field(12).(*array.Int32Builder).Append(t.SourceIndex)
		appendSet(b, 13, t.Source)
	}
	return b.NewRecordBatch()
}

// writeItems writes items.arrow: every item's unified feature vector and
// universal genre vector, as fixed-size lists so a column is one tensor.
func writeItems(p Paths, domainIndex map[string]int32, lineage artifact.Lineage, sum *Summary) error {
	feats, _, err := artifact.ReadAll[schema.ItemFeatures](p.InFeatures)
	if err != nil {
		return err
	}
	aligned, _, err := artifact.ReadAll[schema.AlignedItem](p.InAligned)
	if err != nil {
		return err
	}
	uni := make(map[[2]string][]float32, len(aligned))
	for _, a := range aligned {
		uni[[2]string{a.Domain, a.Item}] = a.Universal
	}
	feats = slices.DeleteFunc(feats, func(f schema.ItemFeatures) bool { _, ok := domainIndex[f.Domain]; return !ok })
	if len(feats) == 0 {
		return fmt.Errorf("%s: no items", p.InFeatures)
	}
	slices.SortFunc(feats, func(a, b schema.ItemFeatures) int {
		if c := cmp.Compare(a.DomainIndex, b.DomainIndex); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	f0 := feats[0]
	nUni := len(uni[[2]string{f0.Domain, f0.Item}])
	schemaItems := arrow.NewSchema([]arrow.Field{
		{Name: "domain", Type: arrow.BinaryTypes.String},
		{Name: "item", Type: arrow.BinaryTypes.String},
		{Name: "domain_index", Type: arrow.PrimitiveTypes.Int32},
		{Name: "index", Type: arrow.PrimitiveTypes.Int32},
		{Name: "genre_idx", Type: arrow.FixedSizeListOf(int32(len(f0.GenreIdx)), arrow.PrimitiveTypes.Int32)},
		{Name: "creator_idx", Type: arrow.FixedSizeListOf(int32(len(f0.CreatorIdx)), arrow.PrimitiveTypes.Int32)},
		{Name: "genre_multihot", Type: arrow.FixedSizeListOf(int32(len(f0.GenreMultiHot)), arrow.PrimitiveTypes.Float32)},
		{Name: "numeric", Type: arrow.FixedSizeListOf(int32(len(f0.Numeric)), arrow.PrimitiveTypes.Float32)},
		{Name: "universal", Type: arrow.FixedSizeListOf(int32(nUni), arrow.PrimitiveTypes.Float32)},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemaItems)
	defer b.Release()
	for _, f := range feats {
		u, ok := uni[[2]string{f.Domain, f.Item}]
		if !ok || len(u) != nUni {
			return fmt.Errorf("%s: item %q of domain %q has no universal genre vector of length %d", p.InAligned, f.Item, f.Domain, nUni)
		}
		b.Field(0).(*array.StringBuilder).Append(f.Domain)
		b.Field(1).(*array.StringBuilder).Append(f.Item)
		b.Field(2).(*array.Int32Builder).Append(f.DomainIndex)
		b.Field(3).(*array.Int32Builder).Append(f.Index)
		appendFixed(b.Field(4), f.GenreIdx)
		appendFixed(b.Field(5), f.CreatorIdx)
		appendFixed(b.Field(6), f.GenreMultiHot)
		appendFixed(b.Field(7), f.Numeric)
		appendFixed(b.Field(8), u)
		sum.Items[f.Domain]++
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	_, err = artifact.WriteArrow(filepath.Join(p.OutDir, "items.arrow"), rec, lineage)
	return err
}

func appendFixed[T int32 | float32](b array.Builder, vs []T) {
	fb := b.(*array.FixedSizeListBuilder)
	fb.Append(true)
	switch vb := fb.ValueBuilder().(type) {
	case *array.Int32Builder:
		for _, v := range vs {
			vb.Append(int32(v))
		}
	case *array.Float32Builder:
		for _, v := range vs {
			vb.Append(float32(v))
		}
	}
}
