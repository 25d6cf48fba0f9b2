package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/eval"
)

var (
	rankingPeers = []string{"ease", "itemknn", "rp3beta", "puresvd"}
	errorPeers   = []string{"mf-foldin", "knn-baseline"}
)

func num(m map[string]any, key string) float64 {
	if v, ok := m[key].(float64); ok {
		return v
	}
	return math.NaN()
}

func row(metrics map[string]any, model string) map[string]any {
	m, _ := metrics[model].(map[string]any)
	return m
}

// best is the model of names with the highest (or lowest) value of key.
func best(metrics map[string]any, names []string, key string, lower bool) string {
	b, bv := "", math.NaN()
	for _, n := range names {
		v := num(row(metrics, n), key)
		if math.IsNaN(v) {
			continue
		}
		if b == "" || (lower && v < bv) || (!lower && v > bv) {
			b, bv = n, v
		}
	}
	return b
}

// pairedP is the Wilcoxon p-value and MeLU's mean per-user difference
// (MeLU minus other) of metric in compare's "<a> vs <b>" test.
func pairedP(compare map[string]any, other, metric string) (diff, p float64, ok bool) {
	sign := 1.0
	t, found := compare[other+" vs "+ModelName].(map[string]any)
	if found {
		sign = -1 // the test is other minus MeLU
	} else if t, found = compare[ModelName+" vs "+other].(map[string]any); !found {
		return 0, 0, false
	}
	m, found := t[metric].(map[string]any)
	if !found {
		return 0, 0, false
	}
	return sign * num(m, "mean_diff"), num(m, "wilcoxon_p"), true
}

func fmtF(v float64, prec int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func fmtP(diff, p float64, ok bool) string {
	if !ok {
		return "–"
	}
	if math.IsNaN(p) {
		return fmt.Sprintf("%+.3f (p n/a)", diff)
	}
	return fmt.Sprintf("%+.3f (p=%.2g)", diff, p)
}

// table renders the headline comparison: per domain, MeLU beside the
// user-bias baseline, popularity and the best ranking and error peers,
// with the paired per-user tests of the same users.
func table(merged map[string]map[string]any, domains []string, cfg eval.Config) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# MeLU beside the baselines and peers (lib/eval)\n\n")
	fmt.Fprintf(&b, "Meta-test users, support size %d, whole catalogue ranked; mean over evaluation seeds %v (seed s scores MeLU's seed-s model). "+
		"MAE and RMSE in stars (rating domains) or normalised log plays (music). "+
		"Δ columns: MeLU minus the row's model, mean per-user difference, paired Wilcoxon p-value from compare.json "+
		"(NDCG@10: higher is better; abs error: lower is better).\n\n", cfg.SupportK, cfg.Seeds)
	b.WriteString("| domain | model | NDCG@10 | MAE | RMSE | Δ NDCG@10 (p) | Δ abs error (p) |\n|---|---|---|---|---|---|---|\n")
	for _, d := range domains {
		metrics, ok := merged["metrics"][d].(map[string]any)
		if !ok {
			return "", fmt.Errorf("metrics: no domain %s", d)
		}
		compare, _ := merged["compare"][d].(map[string]any)
		models := []string{ModelName, eval.UserBiasName, eval.PopularityName}
		for _, extra := range []string{best(metrics, rankingPeers, "ndcg@10", false), best(metrics, errorPeers, "mae", true)} {
			if extra != "" && !slices.Contains(models, extra) {
				models = append(models, extra)
			}
		}
		for _, m := range models {
			r := row(metrics, m)
			if r == nil {
				continue
			}
			name := m
			if slices.Contains(rankingPeers, m) {
				name += " (best ranking peer)"
			} else if slices.Contains(errorPeers, m) {
				name += " (best error peer)"
			}
			nd, ae := "", ""
			if m != ModelName {
				nd = fmtP(pairedP(compare, m, "ndcg@10"))
				ae = fmtP(pairedP(compare, m, "abs_error"))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", d, name, fmtF(num(r, "ndcg@10"), 4), fmtF(num(r, "mae"), 4),
				fmtF(math.Sqrt(num(r, "mse")), 4), nd, ae)
		}
	}
	return b.String(), nil
}
