// Package split assigns users to meta-train, meta-validation and meta-test
// and cuts each (user, domain) history into support and query sets.
package split

import (
	"encoding/binary"
	"hash/fnv"
)

// Groups of users.
const (
	Train = "train"
	Valid = "valid"
	Test  = "test"
)

// Assigner maps a user id to its group by a seeded hash. It is a pure
// function of (seed, fractions, user id): every stage that needs to know
// whether a user is held out (normalize, to fit only on training users;
// split; tasks) computes the same answer without reading another artifact,
// and adding or removing other users never moves a user between groups.
type Assigner struct {
	Seed         uint64
	Train, Valid float64 // fractions; test gets the rest
}

// Group returns the group of user. User ids are namespaced per dataset, so a
// Douban user is in the same group in the book and the music domain: a
// held-out person is held out everywhere.
func (a Assigner) Group(user string) string {
	u := a.unit(user)
	switch {
	case u < a.Train:
		return Train
	case u < a.Train+a.Valid:
		return Valid
	default:
		return Test
	}
}

// unit hashes (seed, user) to a uniform number in [0, 1).
func (a Assigner) unit(user string) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], a.Seed)
	h.Write(b[:])
	h.Write([]byte(user))
	// FNV's low bits mix poorly for short similar keys; finish with a
	// splitmix64 step before taking the top 53 bits.
	return float64(mix(h.Sum64())>>11) / (1 << 53)
}
