package eval

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/schema"
)

// combined is a cell's reported values: the mean over seeds and spread.
func (r *runner) combined(key cellKey) map[string]float64 {
	var per []map[string]float64
	for _, c := range r.cells[key] {
		if c != nil {
			per = append(per, c.summary())
		}
	}
	return combineSeeds(per)
}

// chanceOf is the chance row of a table cell, from the first model scored
// in it: it depends on the users and candidates only, which every model
// shares.
func (r *runner) chanceOf(table, group string, k int) map[string]float64 {
	models := r.order[table]
	if len(models) == 0 {
		return nil
	}
	var per []map[string]float64
	for _, c := range r.cells[cellKey{table, group, models[0], k}] {
		if c != nil {
			per = append(per, c.chance())
		}
	}
	if len(per) == 0 {
		return nil
	}
	return combineSeeds(per)
}

// perUser averages a cell's per-user values over seeds, for the users
// (episode indices) eps; NaN where the user has no value in any seed.
func (r *runner) perUser(key cellKey, eps []int, pick func(*cell) map[int]float64) []float64 {
	out := make([]float64, len(eps))
	for i, ep := range eps {
		var s float64
		var n int
		for _, c := range r.cells[key] {
			if c == nil {
				continue
			}
			if v, ok := pick(c)[ep]; ok {
				s += v
				n++
			}
		}
		out[i] = math.NaN()
		if n > 0 {
			out[i] = s / float64(n)
		}
	}
	return out
}

// isBaseline reports whether name is one of the harness's reference
// scorers: a baseline or a strong peer (lib/baselines).
func (r *runner) isBaseline(name string) bool { return r.own[name] }

// generalisation computes the leave-one-domain-out score of every model
// that has leave-one-out versions: for each held-out domain d, NDCG@10 on
// d's meta-test users of the model trained without d divided by NDCG@10 of
// the model trained with d; then the mean and the worst (lowest) over the
// domains present. 1 means nothing is lost by never having seen the
// domain; the baselines, which know nothing of a domain they were not
// fitted on, show the floor.
func (r *runner) generalisation() (map[string]any, map[string]any) {
	scores, detail := map[string]any{}, map[string]any{}
	k := r.cfg.SupportK
	for _, base := range r.order[tableCold] {
		ratios := map[string]any{}
		det := map[string]any{}
		var sum float64
		worst := math.Inf(1)
		n := 0
		for _, d := range r.cfg.LODODomains {
			without, ok1 := r.combined(cellKey{tableLODO, d, base + LODOInfix + d, k})[fmt.Sprintf("ndcg@%d", HeadK)]
			with, ok2 := r.combined(cellKey{tableCold, d, base, k})[fmt.Sprintf("ndcg@%d", HeadK)]
			if !ok1 || !ok2 || with <= 0 {
				continue
			}
			ratio := without / with
			ratios[d] = ratio
			det[d] = map[string]float64{"ndcg@10_without_domain": without, "ndcg@10_with_domain": with, "ratio": ratio}
			sum += ratio
			worst = min(worst, ratio)
			n++
		}
		if n == 0 {
			continue
		}
		ratios["mean"] = sum / float64(n)
		ratios["worst"] = worst
		ratios["domains"] = n
		scores[base] = ratios
		detail[base] = det
	}
	return scores, detail
}

func (r *runner) write(p Paths) error {
	k := r.cfg.SupportK
	// Headline table.
	head := map[string]any{}
	for _, dom := range r.data.Domains {
		models := map[string]any{}
		for _, m := range r.order[tableCold] {
			if _, ok := r.cells[cellKey{tableCold, dom.Name, m, k}]; ok {
				models[m] = r.combined(cellKey{tableCold, dom.Name, m, k})
			}
		}
		if ch := r.chanceOf(tableCold, dom.Name, k); ch != nil {
			models["chance"] = ch
		}
		head[dom.Name] = models
	}
	gen, genDetail := r.generalisation()
	// A peer is fitted on a domain's own training users: without them it
	// has nothing to rank that domain by. Said in the table, not left blank.
	for _, p := range r.peers {
		gen[p] = map[string]any{"domains": 0, "can_rank_unseen_domain": 0}
	}
	head["domain_generalisation"] = gen
	// MeLU states.
	states := map[string]any{}
	for _, dom := range r.data.Domains {
		models := map[string]any{}
		for _, st := range States {
			for _, m := range r.order[st] {
				key := cellKey{st, dom.Name, m, k}
				if _, ok := r.cells[key]; !ok {
					continue
				}
				if models[m] == nil {
					models[m] = map[string]any{}
				}
				models[m].(map[string]any)[st] = r.combined(key)
			}
			if ch := r.chanceOf(st, dom.Name, k); ch != nil {
				if models["chance"] == nil {
					models["chance"] = map[string]any{}
				}
				models["chance"].(map[string]any)[st] = ch
			}
		}
		states[dom.Name] = models
	}
	// Cross-domain.
	cross := map[string]any{}
	for _, set := range r.data.Cross {
		table := crossPrefix + set.Name
		models := map[string]any{}
		for _, m := range append(append([]string{}, r.order[table]...), "chance") {
			byK := map[string]any{}
			for _, ck := range r.cfg.CrossKs {
				if m == "chance" {
					if ch := r.chanceOf(table, set.Name, ck); ch != nil {
						byK[fmt.Sprintf("k=%d", ck)] = ch
					}
				} else if _, ok := r.cells[cellKey{table, set.Name, m, ck}]; ok {
					byK[fmt.Sprintf("k=%d", ck)] = r.combined(cellKey{table, set.Name, m, ck})
				}
			}
			if len(byK) > 0 {
				models[m] = byK
			}
		}
		cross[set.Name] = models
	}
	// Paired tests.
	compare := map[string]any{}
	for _, dom := range r.data.Domains {
		var eps []int
		for i, e := range r.data.Test {
			if e.Domain == dom.Name {
				eps = append(eps, i)
			}
		}
		models := r.order[tableCold]
		tests := map[string]any{}
		for i, a := range models {
			for _, b := range models[i+1:] {
				if !r.isBaseline(a) && !r.isBaseline(b) {
					continue
				}
				ka, kb := cellKey{tableCold, dom.Name, a, k}, cellKey{tableCold, dom.Name, b, k}
				if r.cells[ka] == nil || r.cells[kb] == nil {
					continue
				}
				tests[a+" vs "+b] = r.pairTests(ka, kb, eps)
			}
		}
		r.bestTests(dom.Name, eps, tests)
		if c := r.contrasts(dom.Name, eps); len(c) > 0 {
			tests["contrasts"] = c
		}
		compare[dom.Name] = tests
	}
	for _, set := range r.data.Cross {
		if c := r.sourceTests(set); len(c) > 0 {
			tests, _ := compare[set.Pair.Target].(map[string]any)
			if tests == nil {
				tests = map[string]any{}
				compare[set.Pair.Target] = tests
			}
			src, _ := tests["cross_source"].(map[string]any)
			if src == nil {
				src = map[string]any{}
				tests["cross_source"] = src
			}
			src[set.Name] = c
		}
	}
	if err := artifact.WriteJSON(p.Metrics, head); err != nil {
		return err
	}
	if err := artifact.WriteJSON(p.States, states); err != nil {
		return err
	}
	if err := artifact.WriteJSON(p.Cross, cross); err != nil {
		return err
	}
	if err := artifact.WriteJSON(p.Compare, compare); err != nil {
		return err
	}
	if err := artifact.WriteFileAtomic(p.ColdCurve, r.curveCSV(tableCold, r.cfg.CurveKs, func(string) []string { return r.domainNamesOrder() })); err != nil {
		return err
	}
	var pairs []string
	for _, s := range r.data.Cross {
		pairs = append(pairs, s.Name)
	}
	if err := artifact.WriteFileAtomic(p.CrossCurve, r.crossCSV(pairs)); err != nil {
		return err
	}
	return artifact.WriteJSON(p.Report, r.report(genDetail))
}

func (r *runner) domainNamesOrder() []string { return r.data.domainNames() }

// curveColumns are the columns of the plot CSVs after domain, model, k.
var curveColumns = []string{"ndcg@10", "ndcg@10_std", "recall@10", "recall@10_std", "mae", "mae_std"}

func csvHeader(b *bytes.Buffer) {
	b.WriteString("domain,model,k")
	for _, c := range curveColumns {
		b.WriteString("," + c)
	}
	b.WriteString("\n")
}

func csvRow(b *bytes.Buffer, group, model string, k int, m map[string]float64) {
	fmt.Fprintf(b, "%s,%s,%d", group, model, k)
	for _, c := range curveColumns {
		b.WriteString(",")
		if v, ok := m[c]; ok {
			b.WriteString(strconv.FormatFloat(v, 'g', 6, 64))
		}
	}
	b.WriteString("\n")
}

// curveCSV is the cold-start curve: one row per domain, model and support
// size, long format so one plot colours by model and facets by domain.
func (r *runner) curveCSV(table string, ks []int, groups func(string) []string) []byte {
	var b bytes.Buffer
	csvHeader(&b)
	for _, g := range groups(table) {
		for _, m := range r.order[table] {
			for _, k := range ks {
				key := cellKey{table, g, m, k}
				if _, ok := r.cells[key]; ok {
					csvRow(&b, g, m, k, r.combined(key))
				}
			}
		}
	}
	return b.Bytes()
}

// crossCSV is the cross-domain curve, the pair in the domain column.
func (r *runner) crossCSV(pairs []string) []byte {
	var b bytes.Buffer
	csvHeader(&b)
	for _, pair := range pairs {
		table := crossPrefix + pair
		for _, m := range r.order[table] {
			for _, k := range r.cfg.CrossKs {
				key := cellKey{table, pair, m, k}
				if _, ok := r.cells[key]; ok {
					csvRow(&b, pair, m, k, r.combined(key))
				}
			}
		}
	}
	return b.Bytes()
}

// report is the evaluation's record of how it was done: the protocol in
// words, each domain's facts, the tuned baselines, which models were found
// and which were left out, and the inputs' content hashes.
func (r *runner) report(genDetail map[string]any) map[string]any {
	domains := map[string]any{}
	baselines := map[string]any{}
	for i, dom := range r.data.Domains {
		cold := 0
		for _, c := range dom.Cold {
			if c {
				cold++
			}
		}
		test, warm := 0, 0
		for _, e := range r.data.Test {
			if e.Domain == dom.Name {
				test++
			}
		}
		for _, e := range r.data.Warm {
			if e.Domain == dom.Name {
				warm++
			}
		}
		rel := fmt.Sprintf("raw rating of at least %g stars", r.cfg.RatingMin)
		if dom.Kind == schema.KindPlaycount {
			rel = fmt.Sprintf("the user's top %g%% of query items by plays (at least one; ties at the cut included)", 100*r.cfg.PlaycountTopShare)
		}
		domains[dom.Name] = map[string]any{
			"value_kind": dom.Kind, "error_unit": dom.Unit(), "relevance": rel,
			"catalogue": dom.Items, "cold_items": cold, "train_users": dom.TrainUsers,
			"test_users": test, "warm_users": warm,
		}
		baselines[dom.Name] = r.tuning[i]
	}
	var evaluated []string
	for _, t := range r.found {
		evaluated = append(evaluated, t.name)
	}
	dirs := map[string][]string{}
	for _, t := range r.found {
		for _, d := range t.dirs {
			if r.relDir != nil {
				d = r.relDir(d)
			}
			dirs[t.name] = append(dirs[t.name], d)
		}
	}
	left := map[string]string{}
	for name, why := range r.skip {
		if r.relDir != nil && r.modelsDir != "" {
			why = strings.ReplaceAll(why, r.modelsDir, r.relDir(r.modelsDir))
		}
		left[name] = why
	}
	return map[string]any{
		"protocol": map[string]any{
			"candidates":   "every item of the user's domain except the support pool (the first max(curve_ks) items of the episode; the model sees the first K); no sampling",
			"tie_break":    "score descending, then item index ascending",
			"seeds":        r.cfg.Seeds,
			"support_k":    r.cfg.SupportK,
			"curve_ks":     r.cfg.CurveKs,
			"cross_ks":     r.cfg.CrossKs,
			"ks":           r.cfg.Ks,
			"temporal":     r.cfg.Temporal,
			"paired_tests": "per-user values averaged over seeds; mean_diff = first model minus second; contrasts at every curve support size",
		},
		"domains":             domains,
		"baselines":           baselines,
		"trained_models":      evaluated,
		"model_dirs":          dirs,
		"models_left_out":     left,
		"generalisation":      genDetail,
		"peers":               r.peerTune,
		"peers_unseen_domain": "a peer is fitted per domain on that domain's meta-train users; fitted without a domain it cannot rank it, so it has no leave-one-domain-out score",
		"ablations":           r.ablations,
		"contrasts_left_out":  r.contrastsLeftOut(),
		"inputs":              r.data.Inputs,
	}
}

// pairTests compares two cells of the same users: per-user NDCG@10, and
// where both predict values, per-user absolute and squared error (the
// paired counterparts of MAE and RMSE).
func (r *runner) pairTests(ka, kb cellKey, eps []int) map[string]any {
	t := map[string]any{}
	pick := func(f func(*cell) map[int]float64) PairedTest {
		return Paired(r.perUser(ka, eps, f), r.perUser(kb, eps, f))
	}
	t[fmt.Sprintf("ndcg@%d", HeadK)] = pick(func(c *cell) map[int]float64 { return c.userNDCG })
	if !r.cells[ka][0].rankingOnly && !r.cells[kb][0].rankingOnly {
		t["abs_error"] = pick(func(c *cell) map[int]float64 { return c.userAE })
		t["sq_error"] = pick(func(c *cell) map[int]float64 { return c.userSE })
	}
	return t
}

// contrasts are the paired tests of Config.Contrasts on one domain's
// meta-test users at every support size the cold-start curve scores:
// {"a vs b": {"k=K": tests}}. A meta-learned model's gain over its
// controls is a claim per K (a gain at K = 10 says nothing of K = 1), so
// each K is tested on its own. A pair one of whose rows was not scored on
// the domain is left out here and named in the report.
func (r *runner) contrasts(domain string, eps []int) map[string]any {
	out := map[string]any{}
	for _, pair := range r.cfg.Contrasts {
		byK := map[string]any{}
		for _, k := range r.cfg.evalKs() {
			ka, kb := cellKey{tableCold, domain, pair[0], k}, cellKey{tableCold, domain, pair[1], k}
			if r.cells[ka] == nil || r.cells[kb] == nil {
				continue
			}
			byK[fmt.Sprintf("k=%d", k)] = r.pairTests(ka, kb, eps)
		}
		if len(byK) > 0 {
			out[pair[0]+" vs "+pair[1]] = byK
		}
	}
	return out
}

// sourceTests are the cross-domain pair's paired tests of each scorer
// with the user's source-domain history against the same scorer without
// it, at every cross support size: {"m vs m-no-source": {"k=K": tests}}.
// Whether the source history moves a new user's ranking is a claim per K
// on the same users, so it gets the same test as a contrast.
func (r *runner) sourceTests(set CrossSet) map[string]any {
	table := crossPrefix + set.Name
	eps := make([]int, len(set.Test))
	for i := range eps {
		eps[i] = i
	}
	out := map[string]any{}
	for _, m := range r.order[table] {
		if strings.HasSuffix(m, noSource) {
			continue
		}
		byK := map[string]any{}
		for _, k := range r.cfg.CrossKs {
			ka, kb := cellKey{table, set.Name, m, k}, cellKey{table, set.Name, m + noSource, k}
			if r.cells[ka] == nil || r.cells[kb] == nil {
				continue
			}
			byK[fmt.Sprintf("k=%d", k)] = r.pairTests(ka, kb, eps)
		}
		if len(byK) > 0 {
			out[m+" vs "+m+noSource] = byK
		}
	}
	return out
}

// contrastsLeftOut names each contrast that some domain could not test,
// and why, for the report.
func (r *runner) contrastsLeftOut() map[string]string {
	out := map[string]string{}
	for _, pair := range r.cfg.Contrasts {
		var missing []string
		for _, name := range pair {
			scored := false
			for _, dom := range r.data.Domains {
				if r.cells[cellKey{tableCold, dom.Name, name, r.cfg.SupportK}] != nil {
					scored = true
				}
			}
			if !scored {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			out[pair[0]+" vs "+pair[1]] = fmt.Sprintf("not scored: %s (not trained, left out, or not a row of the harness)", strings.Join(missing, ", "))
		}
	}
	return out
}

// bestTests adds the two comparisons a reader looks for first: the best
// trained model against the best reference scorer (baseline or peer) on
// NDCG@10, and the best trained model against the best reference scorer
// with error metrics on MAE, "best" being the mean over seeds on this
// domain's meta-test users at the default support size. Ablation rows and
// leave-one-domain-out models are not candidates.
func (r *runner) bestTests(domain string, eps []int, tests map[string]any) {
	k := r.cfg.SupportK
	pick := func(metric string, ref bool, lower bool) string {
		best, bestV := "", math.NaN()
		for _, m := range r.order[tableCold] {
			if r.isBaseline(m) != ref || slices.Contains(r.ablations, m) {
				continue
			}
			key := cellKey{tableCold, domain, m, k}
			if r.cells[key] == nil || (metric == "mae" && r.cells[key][0].rankingOnly) {
				continue
			}
			v, ok := r.combined(key)[metric]
			if !ok || math.IsNaN(v) {
				continue
			}
			if best == "" || (lower && v < bestV) || (!lower && v > bestV) {
				best, bestV = m, v
			}
		}
		return best
	}
	ndcg := func(c *cell) map[int]float64 { return c.userNDCG }
	ae := func(c *cell) map[int]float64 { return c.userAE }
	head := fmt.Sprintf("ndcg@%d", HeadK)
	if a, b := pick(head, false, false), pick(head, true, false); a != "" && b != "" {
		tests["best_ranking"] = map[string]any{"model": a, "reference": b,
			head: Paired(r.perUser(cellKey{tableCold, domain, a, k}, eps, ndcg), r.perUser(cellKey{tableCold, domain, b, k}, eps, ndcg))}
	}
	if a, b := pick("mae", false, true), pick("mae", true, true); a != "" && b != "" {
		se := func(c *cell) map[int]float64 { return c.userSE }
		ka, kb := cellKey{tableCold, domain, a, k}, cellKey{tableCold, domain, b, k}
		tests["best_error"] = map[string]any{"model": a, "reference": b,
			"abs_error": Paired(r.perUser(ka, eps, ae), r.perUser(kb, eps, ae)),
			"sq_error":  Paired(r.perUser(ka, eps, se), r.perUser(kb, eps, se))}
	}
}
