package eda

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
)

// TestMemoryIndependentOfInteractions checks the streaming promise: once
// every user and item has been seen, more interactions cost no memory.
func TestMemoryIndependentOfInteractions(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 1.2M interactions")
	}
	const users, items = 2000, 1000
	a := mustNew(t, Options{})
	x := &schema.Interaction{Domain: "big", Kind: schema.KindRating}
	userIDs, itemIDs := make([]string, users), make([]string, items)
	for i := range userIDs {
		userIDs[i] = "u" + strconv.Itoa(i)
	}
	for i := range itemIDs {
		itemIDs[i] = "i" + strconv.Itoa(i)
	}
	var k int
	add := func(n int) {
		for range n {
			x.User, x.Item, x.Value = userIDs[k%users], itemIDs[(k*7)%items], float64(1+k%10)/2
			if err := a.AddInteraction(x); err != nil {
				t.Fatal(err)
			}
			k++
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	add(200_000)
	before := heap()
	add(1_000_000)
	after := heap()
	if after > before+256<<10 {
		t.Errorf("heap grew from %d to %d bytes over 1M more interactions", before, after)
	}
	if d := result(t, a).Domains[0]; d.Interactions != 1_200_000 || d.Users != users || d.Items != items {
		t.Errorf("counts %d %d %d", d.Interactions, d.Users, d.Items)
	}
}
