package eval

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"

	"github.com/crossrec/crossrec/lib/tasks"
)

// draw returns a held-out episode's support pool and query for one seed.
//
// The pool and the query are re-drawn from their union by a shuffle keyed
// on (seed, domain, user, item), keeping their sizes: every seed is another
// equally valid split of the same users, so the spread over seeds measures
// how much a score depends on which interactions happened to be held out.
// The shuffle depends on no file order, and the same user gets the same
// split in the single-domain and the cross-domain protocol. Under
// split.temporal the order is kept (support = earliest), as re-drawing
// would put future interactions in the support.
//
// The support for K is the first K of the pool; the query is the same at
// every K, and the pool items beyond K are neither support nor query.
func draw(e *tasks.Episode, seed uint64, temporal bool) (pool, query []tasks.Rated) {
	if temporal {
		return e.Support, e.Query
	}
	all := make([]tasks.Rated, 0, len(e.Support)+len(e.Query))
	all = append(append(all, e.Support...), e.Query...)
	keys := make(map[int32]uint64, len(all))
	for _, x := range all {
		keys[x.Item] = shuffleKey(seed, e.Domain, e.User, x.Item)
	}
	slices.SortFunc(all, func(a, b tasks.Rated) int {
		if c := cmp.Compare(keys[a.Item], keys[b.Item]); c != 0 {
			return c
		}
		return cmp.Compare(a.Item, b.Item)
	})
	n := len(e.Support)
	return all[:n:n], all[n:]
}

func shuffleKey(seed uint64, domain, user string, item int32) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write([]byte(user))
	h.Write([]byte{0})
	binary.LittleEndian.PutUint32(b[:4], uint32(item))
	h.Write(b[:4])
	// splitmix64 finaliser: FNV alone mixes short keys poorly.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
