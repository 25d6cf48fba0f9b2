package align

import (
	"strings"
	"unicode"
)

// Normalize returns the form in which source genres are matched: lower case,
// '-' and '_' read as a space, runs of white space collapsed to one space,
// leading and trailing space trimmed. Publishers spell the same genre
// "Sci-Fi", "sci_fi" or "sci fi"; one normal form lets a single reviewed row
// match them all without guessing at anything else.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is pending: written before the next non-space rune
	for _, r := range s {
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
