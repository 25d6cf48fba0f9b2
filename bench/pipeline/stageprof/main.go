// Command stageprof runs one pipeline stage in-process, exactly as
// `go run ./stages/<name>` does, with CPU and heap profiles: the tool the
// data-stage benchmark uses to say where a slow or memory-hungry stage
// spends its time.
//
//	go run ./bench/pipeline/stageprof -C root -params root/params.yaml \
//	    -cpuprofile cpu.prof -memprofile mem.prof clean
//	go tool pprof -top -nodecount=30 cpu.prof
//
// -memprofile writes the heap profile taken at the end of the run with
// MemProfileRate 512 KiB, whose alloc_space view shows where every byte was
// allocated; -peakprofile samples the heap every 100 ms and keeps the profile
// taken when the live heap was largest (inuse_space at the peak).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/crossrec/crossrec/lib/pipeline"
)

func main() {
	root := flag.String("C", ".", "repository root the stage reads and writes under")
	paramsPath := flag.String("params", "", "params file (default: params.yaml under the root)")
	cpuProf := flag.String("cpuprofile", "", "write a CPU profile here")
	memProf := flag.String("memprofile", "", "write the heap profile at the end of the run here")
	peakProf := flag.String("peakprofile", "", "write the heap profile taken at the largest live heap here")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: stageprof [flags] STAGE")
		os.Exit(2)
	}
	name := flag.Arg(0)
	env := pipeline.Env{Root: *root, Params: *paramsPath}
	if env.Params == "" {
		env.Params = filepath.Join(env.Root, "params.yaml")
	}
	stages, err := pipeline.Declarations(env.Root)
	check(err)
	var stage *pipeline.Stage
	for i := range stages {
		if stages[i].Name == name {
			stage = &stages[i]
		}
	}
	if stage == nil {
		check(fmt.Errorf("no stage %q", name))
	}
	runtime.MemProfileRate = 512 << 10
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer f.Close()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	if *peakProf != "" {
		go samplePeak(*peakProf, stop, done)
	} else {
		close(done)
	}
	start := time.Now()
	err = stage.Run(env)
	wall := time.Since(start)
	close(stop)
	<-done
	if *cpuProf != "" {
		pprof.StopCPUProfile()
	}
	check(err)
	if *memProf != "" {
		f, err := os.Create(*memProf)
		check(err)
		check(pprof.Lookup("allocs").WriteTo(f, 0))
		check(f.Close())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "%s: %.2fs, total allocated %.1f MiB, heap sys %.1f MiB, GC cycles %d\n",
		name, wall.Seconds(), float64(ms.TotalAlloc)/(1<<20), float64(ms.HeapSys)/(1<<20), ms.NumGC)
}

// samplePeak polls the live heap and writes the heap profile of the largest
// one seen. The profile reflects the state as of the most recent GC, which is
// what HeapAlloc peaks track closely enough to name the culprits.
func samplePeak(path string, stop, done chan struct{}) {
	defer close(done)
	var best bytes.Buffer
	var peak uint64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			if best.Len() > 0 {
				check(os.WriteFile(path, best.Bytes(), 0o644))
			}
			fmt.Fprintf(os.Stderr, "peak live heap sampled: %.1f MiB\n", float64(peak)/(1<<20))
			return
		case <-tick.C:
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak {
				peak = ms.HeapAlloc
				best.Reset()
				check(pprof.Lookup("heap").WriteTo(&best, 0))
			}
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "stageprof: %v\n", err)
		os.Exit(1)
	}
}
