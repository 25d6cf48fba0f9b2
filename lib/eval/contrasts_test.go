package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/params"
)

// TestContrastsPerSupportSize checks the contrasts of compare.json: one
// paired test per curve support size, the same test as the baseline pairs
// where both exist, a mean difference equal to the per-user one computed by
// ColdStart, and a pair that cannot be tested named in the report.
func TestContrastsPerSupportSize(t *testing.T) {
	dir := t.TempDir()
	d, cfg := runWorldWith(t, dir, func(c *Config) {
		c.Contrasts = [][2]string{{"mymodel", "persed"}, {"user-bias", "mymodel"}, {"mymodel", "ghost"}}
	})
	var compare map[string]map[string]json.RawMessage
	raw, err := os.ReadFile(filepath.Join(dir, "compare.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &compare); err != nil {
		t.Fatal(err)
	}
	var contrasts map[string]map[string]map[string]map[string]any
	if err := json.Unmarshal(compare["d"]["contrasts"], &contrasts); err != nil {
		t.Fatalf("compare.json d.contrasts: %v", err)
	}
	if _, ok := contrasts["mymodel vs ghost"]; ok {
		t.Error("a contrast with an unscored row was written")
	}
	for _, pair := range []string{"mymodel vs persed", "user-bias vs mymodel"} {
		for _, k := range cfg.evalKs() {
			tests, ok := contrasts[pair][fmt.Sprintf("k=%d", k)]
			if !ok {
				t.Fatalf("%s: no test at k=%d", pair, k)
			}
			for _, m := range []string{"ndcg@10", "abs_error", "sq_error"} {
				if num(tests[m]["n"]) < 10 {
					t.Errorf("%s k=%d %s: n = %v users", pair, k, m, tests[m]["n"])
				}
			}
		}
	}
	// At the default support size the contrast is the baseline pair's test.
	var basePair map[string]map[string]any
	if err := json.Unmarshal(compare["d"]["user-bias vs mymodel"], &basePair); err != nil {
		t.Fatal(err)
	}
	if got := contrasts["user-bias vs mymodel"][fmt.Sprintf("k=%d", cfg.SupportK)]; !reflect.DeepEqual(got, basePair) {
		t.Errorf("contrast at k=%d %v differs from the pair test %v", cfg.SupportK, got, basePair)
	}
	// mymodel and persed rank alike (persed's seed-2 model only shifts every
	// score), so NDCG differs by nothing and the error by the shift: check
	// the mean differences against ColdStart's per-user values.
	base := make([]float32, len(newWorld(250).quality))
	for i, q := range newWorld(250).quality {
		base[i] = float32(q) / 4
	}
	for _, k := range []int{1, 5} {
		tests := contrasts["mymodel vs persed"][fmt.Sprintf("k=%d", k)]
		if v := num(tests["ndcg@10"]["mean_diff"]); v != 0 {
			t.Errorf("k=%d: NDCG@10 mean_diff %v, want 0 (same ranking)", k, v)
		}
		var want, n float64
		perUser := map[int][2]float64{}
		for si, seed := range cfg.Seeds {
			off := float32(0)
			if si == 1 {
				off = 0.01
			}
			a, err := ColdStart(d, cfg, &fakeModel{name: "a", base: base}, seed, k)
			if err != nil {
				t.Fatal(err)
			}
			b, err := ColdStart(d, cfg, &fakeModel{name: "b", base: base, off: off}, seed, k)
			if err != nil {
				t.Fatal(err)
			}
			for u := range a.UserAE {
				if !math.IsNaN(a.UserAE[u]) {
					p := perUser[u]
					p[0] += (a.UserAE[u] - b.UserAE[u]) / float64(len(cfg.Seeds))
					perUser[u] = p
				}
			}
		}
		for _, p := range perUser {
			want += p[0]
			n++
		}
		want /= n
		if got := num(tests["abs_error"]["mean_diff"]); math.Abs(got-want) > 1e-9 || want == 0 {
			t.Errorf("k=%d: abs_error mean_diff %v, want %v from ColdStart", k, got, want)
		}
	}
	var report struct {
		Left map[string]string `json:"contrasts_left_out"`
	}
	raw, _ = os.ReadFile(filepath.Join(dir, "report.json"))
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatal(err)
	}
	if why := report.Left["mymodel vs ghost"]; !strings.Contains(why, "ghost") || strings.Contains(why, "mymodel,") {
		t.Errorf("report contrasts_left_out[mymodel vs ghost] = %q", why)
	}
	if len(report.Left) != 1 {
		t.Errorf("contrasts_left_out %v, want only the ghost pair", report.Left)
	}
}

func TestConfigRefusesBadContrasts(t *testing.T) {
	for _, bad := range [][][]string{{{"a", "a"}}, {{"a"}}, {{"a", "b", "c"}}, {{"a", ""}}} {
		p := &params.Params{}
		p.Evaluate.Seeds, p.Evaluate.Ks = []uint64{1}, []int{10}
		p.Evaluate.Relevance.RatingMin, p.Evaluate.Relevance.PlaycountTopShare = 4, 0.2
		p.Evaluate.ShrinkageGrid = []float64{0}
		p.Split.SupportK, p.Split.CurveKs = 3, []int{1, 3}
		p.Evaluate.Contrasts = bad
		if _, err := ConfigFrom(p); err == nil || !strings.Contains(err.Error(), "contrasts[0]") {
			t.Errorf("contrasts %q: err = %v, want a contrasts[0] error", bad, err)
		}
	}
}

// num is a JSON number, or NaN for anything else.
func num(v any) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return math.NaN()
}

// TestSourceTests checks compare.json's cross_source entry: each scorer
// scored with and without the source history gets a paired test at every
// cross support size, on the pair's users, in the direction "with vs
// without" (its error difference has the sign of cross.json's), and a
// scorer with no "-no-source" twin gets none.
func TestSourceTests(t *testing.T) {
	dir := t.TempDir()
	d, cfg := runWorld(t, dir)
	var compare map[string]map[string]json.RawMessage
	var cross map[string]map[string]map[string]map[string]float64
	for f, v := range map[string]any{"compare.json": &compare, "cross.json": &cross} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	var src map[string]map[string]map[string]map[string]map[string]any
	if err := json.Unmarshal(compare["d"]["cross_source"], &src); err != nil {
		t.Fatalf("compare.json d.cross_source: %v", err)
	}
	tests := src["d_to_d"]
	var twins int
	for m := range cross["d_to_d"] {
		if !strings.HasSuffix(m, noSource) {
			if _, ok := tests[m+" vs "+m+noSource]; ok != (cross["d_to_d"][m+noSource] != nil) {
				t.Errorf("%s: source test present %v, no-source row present %v", m, ok, cross["d_to_d"][m+noSource] != nil)
			}
			continue
		}
		twins++
		base := strings.TrimSuffix(m, noSource)
		for _, k := range cfg.CrossKs {
			key := fmt.Sprintf("k=%d", k)
			tt, ok := tests[base+" vs "+m][key]
			if !ok {
				t.Fatalf("%s: no source test at %s", base, key)
			}
			if n := num(tt["ndcg@10"]["n"]); n < 10 || n > float64(len(d.Cross[0].Test)) {
				t.Errorf("%s %s: n = %v of %d cross users", base, key, n, len(d.Cross[0].Test))
			}
			if ae, ok := tt["abs_error"]; ok {
				diff := cross["d_to_d"][base][key]["mae"] - cross["d_to_d"][m][key]["mae"]
				if md := num(ae["mean_diff"]); math.Abs(diff) > 1e-6 && (md > 0) != (diff > 0) {
					t.Errorf("%s %s: abs_error mean_diff %v, cross.json's MAE difference %v", base, key, md, diff)
				}
			}
		}
	}
	if twins == 0 || len(tests) != twins {
		t.Fatalf("%d no-source rows, %d source tests", twins, len(tests))
	}
}
