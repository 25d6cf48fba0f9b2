package params

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestHashDottedKeys checks a dotted key hashes only the part it names:
// a change elsewhere in the section leaves it, a change under it does not,
// and a missing key is an error naming it; comments, flow or block style
// and key order do not change it. A whole section's hash follows
// its values (it once hashed an empty node: every value gave one hash).
func TestHashDottedKeys(t *testing.T) {
	load := func(body string) *Params {
		t.Helper()
		var raw map[string]yaml.Node
		if err := yaml.Unmarshal([]byte(body), &raw); err != nil {
			t.Fatal(err)
		}
		return &Params{raw: raw}
	}
	base := load("evaluate:\n  models: [a]\n  peers:\n    ease: {lambda: [1, 2]}\n")
	otherModels := load("evaluate:\n  models: [a, b]\n  peers:\n    ease: {lambda: [1, 2]}\n")
	otherGrid := load("evaluate:\n  models: [a]\n  peers:\n    ease: {lambda: [1, 3]}\n")
	// The same values, commented, in block style and in another key order.
	restyled := load("# why\nevaluate:\n  peers:  # the grids\n    ease:\n      lambda: [1, 2]\n  models: [a]  # one\n")
	hash := func(p *Params, keys ...string) string {
		t.Helper()
		h, err := p.Hash(keys...)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if hash(base, "evaluate.peers") != hash(otherModels, "evaluate.peers") {
		t.Error("evaluate.peers changed with evaluate.models")
	}
	if hash(base, "evaluate.peers") == hash(otherGrid, "evaluate.peers") {
		t.Error("evaluate.peers did not change with its grid")
	}
	if hash(base, "evaluate") != hash(restyled, "evaluate") || hash(base, "evaluate.peers") != hash(restyled, "evaluate.peers") {
		t.Error("comments, style or key order changed the hash")
	}
	if hash(base, "evaluate") == hash(otherModels, "evaluate") {
		t.Error("the whole section did not change with evaluate.models")
	}
	if hash(base, "evaluate.peers.ease") == hash(base, "evaluate.peers") {
		t.Error("a deeper key hashed as its parent")
	}
	if _, err := base.Hash("evaluate.peers.knn"); err == nil || err.Error() != `params: no key "evaluate.peers.knn"` {
		t.Errorf("missing key: got %v", err)
	}
}
