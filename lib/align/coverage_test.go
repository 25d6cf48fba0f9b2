package align

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
)

func TestCoverageSmall(t *testing.T) {
	m := mustDefault(t)
	c := m.NewCoverage()
	add := func(kind, domain, item string, genres ...string) {
		t.Helper()
		if err := c.AddItem(kind, &schema.Item{Domain: domain, Item: item, Genres: genres}); err != nil {
			t.Fatal(err)
		}
	}
	add("movies", "ml", "1", "Comedy")
	add("movies", "ml", "2", "IMAX")
	add("movies", "ml", "3", "(no genres listed)")
	add("movies", "ml", "2", "Drama") // a second add of item 2 covers it
	add("music", "fm", "a", "seen live", "Seen-Live")
	for _, it := range []string{"1", "1", "2", "3", "9"} { // item 9 is not in the catalogue
		c.AddInteraction(&schema.Interaction{Domain: "ml", Item: it})
	}
	if err := c.AddItem("books", &schema.Item{Domain: "ml", Item: "4"}); err == nil {
		t.Error("a second kind for a domain must be an error")
	}
	got := c.Result()
	if len(got) != 2 || got[0].Domain != "fm" || got[1].Domain != "ml" {
		t.Fatalf("domains %+v, want fm then ml", got)
	}
	ml := got[1]
	if ml.Items != 3 || ml.ItemsCovered != 2 || ml.Interactions != 5 || ml.InteractionsCovered != 3 || ml.InteractionsUnknownItem != 1 {
		t.Errorf("ml coverage %+v", ml)
	}
	if ml.ItemShare != 2.0/3 || ml.InteractionShare != 3.0/5 {
		t.Errorf("ml shares %v %v", ml.ItemShare, ml.InteractionShare)
	}
	if len(ml.Unmapped) != 2 || ml.Unmapped[0].Genre != "(no genres listed)" || ml.Unmapped[1].Genre != "imax" {
		t.Errorf("ml unmapped %+v", ml.Unmapped)
	}
	fm := got[0]
	if fm.ItemShare != 0 || fm.InteractionShare != 0 || len(fm.Unmapped) != 1 || fm.Unmapped[0].Items != 2 {
		t.Errorf("fm coverage %+v", fm)
	}
	b, err := json.Marshal(got)
	if err != nil || !strings.Contains(string(b), `"item_share":0.6666666666666666`) {
		t.Errorf("json %s, %v", b, err)
	}
}
