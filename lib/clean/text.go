package clean

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text fixes, each reported under its own reason when it changed something.
const (
	FixWhitespace  = "whitespace"      // leading/trailing/repeated spaces collapsed
	FixInvalidUTF8 = "invalid_utf8"    // bytes that are not UTF-8 replaced by U+FFFD
	FixUnicodeNFC  = "unicode_nfc"     // composed to NFC so "é" has one spelling
	FixGenreCase   = "genre_case"      // genres and tags lower-cased
	FixDupGenre    = "duplicate_genre" // a genre repeated on one item
	FixDupCreator  = "duplicate_creator"
)

// Text normalises a free-text field: valid UTF-8, NFC, single spaces, trimmed.
// It returns the fixes it made so the stage can count them.
func Text(s string, fixes func(reason string)) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		fixes(FixInvalidUTF8)
	}
	if !norm.NFC.IsNormalString(s) {
		s = norm.NFC.String(s)
		fixes(FixUnicodeNFC)
	}
	if t := collapseSpace(s); t != s {
		s = t
		fixes(FixWhitespace)
	}
	return s
}

// collapseSpace trims s and turns each run of Unicode spaces into one ' '.
func collapseSpace(s string) string {
	clean := true
	prevSpace := true
	for _, r := range s {
		sp := unicode.IsSpace(r)
		if sp && (prevSpace || r != ' ') {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean && !prevSpace {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// Genres normalises a genre or tag list: text fixes, lower case, empties
// dropped, first occurrence of each kept in order.
func Genres(in []string, fixes func(string)) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, g := range in {
		g = Text(g, fixes)
		if l := strings.ToLower(g); l != g {
			g = l
			fixes(FixGenreCase)
		}
		if g == "" {
			continue
		}
		if seen[g] {
			fixes(FixDupGenre)
			continue
		}
		seen[g] = true
		out = append(out, g)
	}
	return out
}

// Creators normalises authors or artists: text fixes, empties dropped, and
// names equal up to case kept once, in the first spelling seen.
func Creators(in []string, fixes func(string)) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, c := range in {
		c = Text(c, fixes)
		if c == "" {
			continue
		}
		k := strings.ToLower(c)
		if seen[k] {
			fixes(FixDupCreator)
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	return out
}
