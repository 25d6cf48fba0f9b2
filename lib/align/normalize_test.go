package align

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Sci-Fi":              "sci fi",
		"sci_fi":              "sci fi",
		"  SCI  fi ":          "sci fi",
		"sci--fi":             "sci fi",
		"sci-fi---fantasy":    "sci fi fantasy",
		"-ya-":                "ya",
		"Hip Hop\t/ Rap":      "hip hop / rap",
		"Children's":          "children's",
		"(no genres listed)":  "(no genres listed)",
		"rock\r\n":            "rock",
		"":                    "",
		" - _ ":               "",
		"ÉLECTRO-Pop":         "électro pop",
		"young_adult-fiction": "young adult fiction",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeIdempotent(t *testing.T) {
	for _, s := range []string{"Sci-Fi", " a _ b - c ", "Film-Noir", "hip hop/rap"} {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Errorf("Normalize not idempotent on %q: %q then %q", s, n, Normalize(n))
		}
	}
}
