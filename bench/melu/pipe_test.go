package main

import (
	"encoding/binary"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/crossrec/crossrec/lib/tasks"
)

// Framing in Go alone: the request's layout, and replies of the wrong
// length, status or size refused.
func TestFraming(t *testing.T) {
	sup := []tasks.Rated{{Item: 7, Norm: 0.5}, {Item: 3, Norm: 0.25}}
	b := encodeRequest(2, sup, []int32{9, 1, 4})
	if n := binary.LittleEndian.Uint32(b); int(n) != len(b)-4 || n != 12+8*2+4*3 {
		t.Fatalf("length prefix %d for a %d-byte frame", n, len(b))
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4+4*i:]) }
	want := []uint32{2, 2, 3, 7, 3, math.Float32bits(0.5), math.Float32bits(0.25), 9, 1, 4}
	for i, w := range want {
		if u(i) != w {
			t.Fatalf("word %d = %d, want %d", i, u(i), w)
		}
	}
	ok := []byte{statusOK}
	for _, v := range []float32{1.5, -2} {
		ok = binary.LittleEndian.AppendUint32(ok, math.Float32bits(v))
	}
	if s, err := decodeResponse(ok, 2); err != nil || s[0] != 1.5 || s[1] != -2 {
		t.Fatalf("decode = %v, %v", s, err)
	}
	if _, err := decodeResponse(ok, 3); err == nil || !strings.Contains(err.Error(), "for 3 candidates") {
		t.Fatalf("short reply: err = %v", err)
	}
	if _, err := decodeResponse(append([]byte{statusErr}, "no such domain"...), 1); err == nil || !strings.Contains(err.Error(), "no such domain") {
		t.Fatalf("error reply: err = %v", err)
	}
	if _, err := decodeResponse([]byte{9}, 0); err == nil {
		t.Fatal("unknown status accepted")
	}
	if _, err := decodeResponse(nil, 0); err == nil {
		t.Fatal("empty reply accepted")
	}
	if _, _, err := decodeHello([]byte("MELU\x02\x00\x00\x00\x00\x00\x00\x00")); err == nil {
		t.Fatal("hello of another protocol version accepted")
	}
}

// The one-point peer grids carry each domain's own setting.
func TestPeerGrids(t *testing.T) {
	pc := peerChoices{
		"ease":         {"books": {Params: map[string]float64{"lambda": 500}}, "music": {Params: map[string]float64{"lambda": 10}}},
		"itemknn":      {"books": {Params: map[string]float64{"k": 3200, "shrink": 5}}},
		"knn-baseline": {"books": {Params: map[string]float64{"k": 5, "shrink": 25, "alpha": 1}}},
	}
	g, err := peerGrids(pc, "books")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.EASE.Lambda) != 1 || g.EASE.Lambda[0] != 500 || len(g.ItemKNN.K) != 1 || g.ItemKNN.K[0] != 3200 || g.ItemKNN.Shrink[0] != 5 ||
		g.KNNBaseline.K[0] != 5 || g.KNNBaseline.Alpha[0] != 1 || len(g.RP3beta.K) != 0 || len(g.MF.Factors) != 0 {
		t.Fatalf("grids %+v", g)
	}
	if _, err := peerGrids(pc, "music"); err == nil {
		t.Fatal("music has no itemknn setting, and no error was given")
	}
}

func stub(t *testing.T, mode string, timeout time.Duration) (*PipeScorer, error) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: the pipe tests need it (standard library only)")
	}
	return StartPipe("stub", []string{py, "testdata/stub.py", mode, "10,20"}, 20*time.Second, timeout)
}

// Through the real Python framing (protocol.py): scores come back for
// every candidate, in candidate order, and the support reaches the process.
func TestPipeRoundTrip(t *testing.T) {
	s, err := stub(t, "ok", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.Sizes) != 2 || s.Sizes[0] != 10 || s.Sizes[1] != 20 {
		t.Fatalf("hello sizes %v", s.Sizes)
	}
	cands := []int32{17, 3, 12, 0, 19}
	sup := []tasks.Rated{{Item: 4, Norm: 0.25}, {Item: 8, Norm: 0.5}}
	for range 3 { // the pipe stays in step over several requests
		got, err := s.Score(1, sup, cands)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(cands) {
			t.Fatalf("%d scores for %d candidates", len(got), len(cands))
		}
		for i, c := range cands {
			if want := float32(float64(c)/1000 + 0.75 + 1); math.Abs(float64(got[i]-want)) > 1e-6 {
				t.Fatalf("score %d (candidate %d) = %v, want %v", i, c, got[i], want)
			}
		}
	}
	// An empty support and an empty candidate list are valid requests.
	if got, err := s.Score(0, nil, []int32{5}); err != nil || math.Abs(float64(got[0])-0.005) > 1e-6 {
		t.Fatalf("empty support: %v, %v", got, err)
	}
	if got, err := s.Score(0, nil, nil); err != nil || len(got) != 0 {
		t.Fatalf("no candidates: %v, %v", got, err)
	}
	if _, err := s.Score(2, nil, []int32{1}); err == nil || !strings.Contains(err.Error(), "domain 2") {
		t.Fatalf("domain out of range: err = %v", err)
	}
}

// Misbehaving processes give a clear error, quickly, never a hang or a
// panic; after a framing failure every later call fails too.
func TestPipeFailures(t *testing.T) {
	cases := []struct {
		mode, want string
		sticky     bool
	}{
		{"short", "reply of 17 bytes for 5 candidates", true},
		{"die", "closed its output", true},
		{"silent", "no reply within", true},
		{"error", "stub refuses domain 1", false},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			s, err := stub(t, c.mode, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			start := time.Now()
			_, err = s.Score(1, []tasks.Rated{{Item: 1, Norm: 0.5}}, []int32{1, 2, 3, 4, 5})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("the failure took %s", d)
			}
			if c.mode == "die" && !strings.Contains(err.Error(), "exit status 3") {
				t.Fatalf("err = %v, want the exit status", err)
			}
			_, err2 := s.Score(1, nil, []int32{1})
			if c.sticky && (err2 == nil || err2.Error() != err.Error()) {
				t.Fatalf("after the failure: err = %v, want the first error again", err2)
			}
			if !c.sticky && err2 == nil {
				t.Fatal("the stub refuses every request, and one was accepted")
			}
		})
	}
}

func TestPipeBadHello(t *testing.T) {
	if _, err := stub(t, "badhello", time.Second); err == nil || !strings.Contains(err.Error(), "not a MeLU hello") {
		t.Fatalf("err = %v", err)
	}
}
