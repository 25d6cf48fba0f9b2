//go:build race

package adapt

// raceEnabled: the race detector makes sync.Pool drop objects on purpose,
// so allocation counts mean nothing under it.
const raceEnabled = true
