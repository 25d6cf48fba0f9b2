//go:build !noxla

package backend

import "github.com/gomlx/gomlx/backends/xla"

// xlaCompiled says the XLA backend is linked in (build without -tags noxla).
const xlaCompiled = true

func init() {
	// Never download plugins at run time: offline it fails (and GoMLX
	// panics); a plugin must be installed or found by FindCUDAPlugin.
	xla.EnableAutoInstall(false)
}
