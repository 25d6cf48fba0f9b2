package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/crossrec/crossrec/lib/tasks"
)

// The pipe protocol (bench/melu/protocol.py is the Python side): every
// frame is a little-endian uint32 byte length and that many bytes.
//
//	hello    (process -> Go, once): "MELU", uint32 version, uint32 domains,
//	         domains x uint32 catalogue size, the model name.
//	request  (Go -> process): int32 domain, uint32 ns, uint32 nc,
//	         ns x int32 support items, ns x float32 normalised values,
//	         nc x int32 candidates.
//	response (process -> Go): uint8 status; 0: nc x float32 scores in
//	         candidate order; 1: an error message.
const (
	protoMagic   = "MELU"
	protoVersion = 1
	statusOK     = 0
	statusErr    = 1
	// maxMessage bounds an error reply's text, so a garbled length cannot
	// make the reader allocate gigabytes.
	maxMessage = 1 << 16
)

// encodeRequest is one request frame, length prefix included.
func encodeRequest(domain int32, support []tasks.Rated, candidates []int32) []byte {
	n := 12 + 8*len(support) + 4*len(candidates)
	b := make([]byte, 4, 4+n)
	binary.LittleEndian.PutUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, uint32(domain))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(support)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(candidates)))
	for _, x := range support {
		b = binary.LittleEndian.AppendUint32(b, uint32(x.Item))
	}
	for _, x := range support {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x.Norm))
	}
	for _, c := range candidates {
		b = binary.LittleEndian.AppendUint32(b, uint32(c))
	}
	return b
}

// decodeResponse checks a response payload against the number of
// candidates asked for and returns the scores.
func decodeResponse(p []byte, nc int) ([]float32, error) {
	if len(p) == 0 {
		return nil, errors.New("empty reply")
	}
	switch p[0] {
	case statusOK:
		if len(p) != 1+4*nc {
			return nil, fmt.Errorf("reply of %d bytes for %d candidates (want %d)", len(p), nc, 1+4*nc)
		}
		out := make([]float32, nc)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[1+4*i:]))
		}
		return out, nil
	case statusErr:
		return nil, fmt.Errorf("scorer refused the request: %s", p[1:])
	}
	return nil, fmt.Errorf("reply with unknown status %d", p[0])
}

// decodeHello reads the catalogue sizes and model name of a hello payload.
func decodeHello(p []byte) (sizes []int, name string, err error) {
	if len(p) < 12 || string(p[:4]) != protoMagic {
		return nil, "", fmt.Errorf("not a MeLU hello (%d bytes, starts %q)", len(p), p[:min(len(p), 4)])
	}
	if v := binary.LittleEndian.Uint32(p[4:]); v != protoVersion {
		return nil, "", fmt.Errorf("protocol version %d, want %d", v, protoVersion)
	}
	nd := int(binary.LittleEndian.Uint32(p[8:]))
	if len(p) < 12+4*nd {
		return nil, "", fmt.Errorf("hello of %d bytes for %d domains", len(p), nd)
	}
	for i := range nd {
		sizes = append(sizes, int(binary.LittleEndian.Uint32(p[12+4*i:])))
	}
	return sizes, string(p[12+4*nd:]), nil
}

// tailBuffer keeps the last bytes written to it: the process's stderr,
// for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// PipeScorer is a recommend.Scorer served by a child process over the pipe
// protocol. Calls are serialised (the harness calls a scorer from one
// goroutine unless it declares itself concurrent, which this one does not);
// after any I/O or framing failure the process is killed and every later
// call returns the first error.
type PipeScorer struct {
	name    string
	Sizes   []int // catalogue size per domain, from the hello
	Timeout time.Duration

	mu     sync.Mutex
	cmd    *exec.Cmd
	in     *os.File // our end of the child's stdin
	out    *os.File // our end of the child's stdout
	r      *bufio.Reader
	stderr *tailBuffer
	exited chan struct{}
	waitEr error
	failed error
}

// StartPipe starts argv and reads its hello within startup.
func StartPipe(name string, argv []string, startup, timeout time.Duration) (*PipeScorer, error) {
	childIn, in, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	out, childOut, err := os.Pipe()
	if err != nil {
		childIn.Close()
		in.Close()
		return nil, err
	}
	s := &PipeScorer{name: name, Timeout: timeout, in: in, out: out, r: bufio.NewReaderSize(out, 1<<16), stderr: &tailBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = childIn, childOut, s.stderr
	err = s.cmd.Start()
	childIn.Close()
	childOut.Close()
	if err != nil {
		in.Close()
		out.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, argv[0], err)
	}
	go func() {
		s.waitEr = s.cmd.Wait()
		close(s.exited)
	}()
	p, err := s.readFrame(startup, maxMessage)
	if err == nil {
		s.Sizes, _, err = decodeHello(p)
	}
	if err != nil {
		err = s.fail(fmt.Errorf("hello: %w", err))
		return nil, err
	}
	return s, nil
}

// Name is the model's row name.
func (s *PipeScorer) Name() string { return s.name }

// Score sends one request and waits at most Timeout for the reply.
func (s *PipeScorer) Score(domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return nil, s.failed
	}
	if domain < 0 || int(domain) >= len(s.Sizes) {
		return nil, fmt.Errorf("%s: domain %d outside the %d domains the process serves", s.name, domain, len(s.Sizes))
	}
	if err := s.out.SetReadDeadline(time.Now().Add(s.Timeout)); err != nil {
		return nil, s.fail(err)
	}
	if err := s.in.SetWriteDeadline(time.Now().Add(s.Timeout)); err != nil {
		return nil, s.fail(err)
	}
	if _, err := s.in.Write(encodeRequest(domain, support, candidates)); err != nil {
		return nil, s.fail(fmt.Errorf("send: %w", err))
	}
	p, err := s.readFrame(s.Timeout, 1+4*len(candidates)+maxMessage)
	if err != nil {
		return nil, s.fail(err)
	}
	scores, err := decodeResponse(p, len(candidates))
	if err != nil {
		if len(p) > 0 && p[0] == statusErr {
			// The process answered in protocol: the request was wrong,
			// the pipe is still in step.
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		return nil, s.fail(err)
	}
	return scores, nil
}

// readFrame reads one frame within d, refusing one longer than limit.
func (s *PipeScorer) readFrame(d time.Duration, limit int) ([]byte, error) {
	if err := s.out.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, err
	}
	var head [4]byte
	if _, err := io.ReadFull(s.r, head[:]); err != nil {
		return nil, readErr(err, d)
	}
	n := int(binary.LittleEndian.Uint32(head[:]))
	if n > limit {
		return nil, fmt.Errorf("reply frame of %d bytes, at most %d expected", n, limit)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(s.r, p); err != nil {
		return nil, readErr(err, d)
	}
	return p, nil
}

func readErr(err error, d time.Duration) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("no reply within %s", d)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the process closed its output (%w)", err)
	}
	return err
}

// fail records the first failure, stops the process and returns an error
// naming the process's exit and the tail of its stderr.
func (s *PipeScorer) fail(err error) error {
	if s.failed != nil {
		return s.failed
	}
	exit := "killed after the failure"
	select {
	case <-s.exited:
		exit = "exited with status 0"
		if s.waitEr != nil {
			exit = "exited: " + s.waitEr.Error()
		}
	case <-time.After(200 * time.Millisecond):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.in.Close()
	s.out.Close()
	msg := fmt.Sprintf("%s: %v (process %s)", s.name, err, exit)
	if tail := s.stderr.String(); tail != "" {
		msg += "; stderr: " + tail
	}
	s.failed = errors.New(msg)
	return s.failed
}

// Close ends the process: stdin closed (it exits at the end of input),
// killed if it has not exited within a few seconds.
func (s *PipeScorer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return nil
	}
	s.in.Close()
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.out.Close()
	s.failed = fmt.Errorf("%s: closed", s.name)
	return s.waitEr
}
