// Command serve is a bounded load test of the serving endpoint
// (cmd/recommend serve): it loads an exported model, starts the same
// handler in-process on a free loopback port, and sends real requests
// (held-out test users' first K ratings, in the published scale) from 1,
// 2 and 8 concurrent clients, reporting throughput and latency
// percentiles per level.
//
//	go run ./bench/serve -C /tmp/smoke -model artifacts/models/maml -duration 10s
//
// Each level runs for -duration (at most 60 s) or -requests requests,
// whichever ends first, after a short warm-up. Nothing leaves the
// machine: the server listens on 127.0.0.1 only.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crossrec/crossrec/lib/serve"
	"github.com/crossrec/crossrec/lib/tasks"
)

// maxDuration bounds one level, so the whole test stays bounded whatever
// the flags say.
const maxDuration = 60 * time.Second

func main() {
	root := flag.String("C", ".", "repository root (its artifacts/tasks and artifacts/normalize are read)")
	model := flag.String("model", "artifacts/models/maml", "exported model folder (a model with several seeds serves its first)")
	domain := flag.String("domain", "movies", "domain of the requests")
	k := flag.Int("k", 10, "ratings per request (a test user's first K)")
	n := flag.Int("n", 10, "items asked for per request")
	levels := flag.String("clients", "1,2,8", "concurrent clients, one level each")
	duration := flag.Duration("duration", 10*time.Second, "time per level (at most 60s)")
	requests := flag.Int("requests", 0, "requests per level (0: as many as -duration allows)")
	flag.Parse()
	if err := run(*root, *model, *domain, *k, *n, *levels, *duration, *requests); err != nil {
		fmt.Fprintf(os.Stderr, "bench/serve: %v\n", err)
		os.Exit(1)
	}
}

func run(root, model, domain string, k, n int, levels string, duration time.Duration, requests int) error {
	if duration <= 0 || duration > maxDuration {
		return fmt.Errorf("-duration %v: want (0, %v]", duration, maxDuration)
	}
	if requests < 0 {
		return fmt.Errorf("-requests %d: want 0 or more", requests)
	}
	var clients []int
	for _, s := range strings.Split(levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 || c > 64 {
			return fmt.Errorf("-clients: %q is not a client count in 1..64", s)
		}
		clients = append(clients, c)
	}
	start := time.Now()
	svc, err := serve.Open(root, model)
	if err != nil {
		return err
	}
	if err := svc.Verify(); err != nil {
		return err
	}
	loaded := time.Since(start)
	bodies, err := requestBodies(svc, root, domain, k, n)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve.Serve(ctx, ln, serve.Handler(svc, log.New(os.Stderr, "server: ", 0))) }()
	url := "http://" + ln.Addr().String() + "/recommend"

	fmt.Printf("model %s (%s, loaded and checked in %v), domain %s, K=%d, n=%d, %d distinct requests\n",
		svc.Model(), svc.Source, loaded.Round(time.Millisecond), domain, k, n, len(bodies))
	fmt.Printf("GOMAXPROCS %d, %s/%s, %v per level%s\n\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, duration,
		map[bool]string{true: fmt.Sprintf(" or %d requests", requests), false: ""}[requests > 0])
	fmt.Println("| clients | requests | errors | req/s | p50 ms | p99 ms | max ms |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|")
	var failed error
	for _, c := range clients {
		r := level(url, bodies, c, duration, requests)
		fmt.Printf("| %d | %d | %d | %.0f | %.2f | %.2f | %.2f |\n", c, len(r.lat), r.errors, float64(len(r.lat))/r.wall.Seconds(),
			ms(pct(r.lat, 0.50)), ms(pct(r.lat, 0.99)), ms(pct(r.lat, 1)))
		if r.errors > 0 && failed == nil {
			failed = fmt.Errorf("%d clients: %d errors, the first: %v", c, r.errors, r.first)
		}
	}
	stop()
	if err := <-served; err != nil {
		return err
	}
	return failed
}

// requestBodies are the JSON requests sent: each held-out test user of
// the domain with at least k support ratings, their first k (as the
// evaluation takes them), by published item id and value.
func requestBodies(svc *serve.Service, root, domain string, k, n int) ([][]byte, error) {
	path := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	items, _, err := tasks.LoadItems(path(serve.ItemsPath))
	if err != nil {
		return nil, err
	}
	d := slices.IndexFunc(items.Domains, func(x tasks.ItemDomain) bool { return x.Name == domain })
	if d < 0 {
		return nil, fmt.Errorf("-domain %q: not in %s", domain, serve.ItemsPath)
	}
	eps, _, err := tasks.LoadEpisodes(path("artifacts/tasks/test.arrow"))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, e := range eps {
		if e.Domain != domain || len(e.Support) < k {
			continue
		}
		req := serve.Request{Domain: domain, N: n}
		for _, r := range e.Support[:k] {
			req.Ratings = append(req.Ratings, serve.Rating{Item: items.Domains[d].IDs[r.Item], Value: float64(r.Raw)})
		}
		// Every request must be one the service takes: a load test of
		// refusals would measure the wrong path.
		if _, err := svc.Recommend(req); err != nil {
			return nil, fmt.Errorf("test user %s: %w", e.User, err)
		}
		b, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no test user of %s has %d support ratings", domain, k)
	}
	return out, nil
}

type result struct {
	lat    []time.Duration
	errors int
	first  error
	wall   time.Duration
}

// level runs c clients, each sending requests one after another over a
// kept-alive connection, until the duration or the request count is
// reached.
func level(url string, bodies [][]byte, c int, duration time.Duration, requests int) result {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	defer client.CloseIdleConnections()
	// Warm-up: connections opened, every graph shape compiled.
	for i := range min(len(bodies), 4*c) {
		send(client, url, bodies[i])
	}
	var (
		mu   sync.Mutex
		all  result
		sent int
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(duration)
	for w := range c {
		wg.Go(func() {
			var lat []time.Duration
			var errs int
			var first error
			for i := w; time.Now().Before(deadline); i += c {
				if requests > 0 {
					mu.Lock()
					ok := sent < requests
					sent++
					mu.Unlock()
					if !ok {
						break
					}
				}
				t0 := time.Now()
				err := send(client, url, bodies[i%len(bodies)])
				lat = append(lat, time.Since(t0))
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
				}
			}
			mu.Lock()
			all.lat = append(all.lat, lat...)
			all.errors += errs
			if all.first == nil {
				all.first = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	all.wall = time.Since(start)
	slices.Sort(all.lat)
	return all
}

func send(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status + ": " + strings.TrimSpace(string(b)))
	}
	return nil
}

// pct is the q-quantile of sorted durations (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
