// Command recommend adapts a trained model to a new user's few ratings in
// one domain and prints the top-N items of that domain's whole catalogue,
// or serves the same over HTTP.
//
//	go run ./cmd/recommend -domain movies -rate 1=5,318=4.5,296=2 -n 10
//	go run ./cmd/recommend -model artifacts/models/vae -domain books -rate 2767052=5 -json
//	go run ./cmd/recommend serve -addr 127.0.0.1:8080 -model artifacts/models/maml
//
// Ratings are in the published scale (stars; play counts for Last.fm) and
// item ids are the dataset's own. Any model the evaluation scores is
// served: lib/models' exports (NCF, FCNN, the meta-learners), the
// Mult-VAE and LightGCN; the last two only rank, so they print no
// predicted rating. The backend is pure Go unless $GOMLX_BACKEND says
// otherwise.
//
// Exit status: 0 on success, 2 for a bad flag or a value the service
// refuses (unknown domain or item, a rating outside the scale, a bad n),
// 1 when the model cannot be loaded or fails.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crossrec/crossrec/lib/serve"
)

// open loads the service; tests replace it with an in-process model.
var open = serve.Open

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command with its arguments, returning the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "serve" {
		return runServe(ctx, args[1:], stdout, stderr)
	}
	return runOnce(args, stdout, stderr)
}

const defaultModel = "artifacts/models/maml"

// usageError is a bad command line: exit status 2, like the flag
// package's own errors.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exit reports err on stderr and returns its exit status.
func exit(stderr io.Writer, err error, tokens []string) int {
	if err == nil {
		return 0
	}
	var ie *serve.InputError
	var ue usageError
	switch {
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "recommend: %s: %s\n", flagOf(ie, tokens), ie.Msg)
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "recommend: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "recommend: %v\n", err)
	return 1
}

// flagOf names the flag (and -rate entry) an input error is about, so the
// message points at what the user typed.
func flagOf(e *serve.InputError, tokens []string) string {
	switch {
	case e.Rating >= 0 && e.Rating < len(tokens):
		return fmt.Sprintf("-rate %q", tokens[e.Rating])
	case strings.HasPrefix(e.Field, "ratings"):
		return "-rate"
	case e.Field == "domain" || e.Field == "n":
		return "-" + e.Field
	}
	return e.Field
}

// parseRatings reads -rate, item=value,item=value,...; the tokens are
// kept to quote in messages. Values are checked by the service, except
// what does not parse as a number at all.
func parseRatings(s string) ([]serve.Rating, []string, error) {
	var out []serve.Rating
	var tokens []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if len(out) == serve.MaxRatings {
			return nil, nil, usageError{fmt.Sprintf("-rate: more than %d ratings, at most %d are taken", serve.MaxRatings, serve.MaxRatings)}
		}
		id, v, ok := strings.Cut(part, "=")
		id, v = strings.TrimSpace(id), strings.TrimSpace(v)
		if !ok || id == "" {
			return nil, nil, usageError{fmt.Sprintf("-rate %q: not item=value", part)}
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, nil, usageError{fmt.Sprintf("-rate %q: %s is not a finite number", part, v)}
			}
			return nil, nil, usageError{fmt.Sprintf("-rate %q: %q is not a number", part, v)}
		}
		out = append(out, serve.Rating{Item: id, Value: x})
		tokens = append(tokens, part)
	}
	return out, tokens, nil
}

// newFlags is a flag set that reports to stderr and returns its errors
// (exit status 2) instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args and refuses positional arguments (a misplaced value
// would otherwise be silently ignored). It returns the exit status to
// leave with, or -1 to go on.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "recommend: unexpected argument %q (flags come before, values as -flag value)\n", fs.Arg(0))
		return 2
	}
	return -1
}

func runOnce(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("recommend", stderr)
	root := fs.String("C", ".", "repository root")
	model := fs.String("model", defaultModel, "exported model folder (a model with one seed, or a seed-<s> folder; a model with several seeds uses its first)")
	domain := fs.String("domain", "", "domain of the ratings and of the recommendations")
	rate := fs.String("rate", "", "the user's ratings: item=value,item=value,... (at most 100)")
	n := fs.Int("n", serve.DefaultN, fmt.Sprintf("number of items to return (1 to %d)", serve.MaxN))
	asJSON := fs.Bool("json", false, "print the JSON answer the server gives instead of a table")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: recommend [flags]          adapt to a user's ratings and print the top items\n")
		fmt.Fprintf(stderr, "       recommend serve [flags]    answer the same over HTTP (recommend serve -h)\n")
		fs.PrintDefaults()
	}
	if code := parse(fs, args, stderr); code >= 0 {
		return code
	}
	if *domain == "" {
		return exit(stderr, usageError{"-domain is required"}, nil)
	}
	ratings, tokens, err := parseRatings(*rate)
	if err != nil {
		return exit(stderr, err, nil)
	}
	// n is checked again by the service against the catalogue; the range
	// check here spares loading a model for nothing.
	if *n < 1 || *n > serve.MaxN {
		return exit(stderr, usageError{fmt.Sprintf("-n: %d is not between 1 and %d", *n, serve.MaxN)}, nil)
	}
	svc, err := open(*root, *model)
	if err != nil {
		return exit(stderr, err, nil)
	}
	start := time.Now()
	resp, err := svc.Recommend(serve.Request{Domain: *domain, Ratings: ratings, N: *n})
	if err != nil {
		return exit(stderr, err, tokens)
	}
	el := time.Since(start)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return exit(stderr, enc.Encode(resp), nil)
	}
	fmt.Fprintf(stdout, "%-5s %-24s %10s %10s\n", "rank", "item", "rank score", "predicted")
	for _, r := range resp.Items {
		pred := "-" // a ranking-only model predicts no rating
		if r.Predicted != nil {
			pred = strconv.FormatFloat(*r.Predicted, 'f', 3, 64)
		}
		fmt.Fprintf(stdout, "%-5d %-24s %10.4f %10s\n", r.Rank, r.Item, r.Score, pred)
	}
	fmt.Fprintf(stderr, "%s: adapted to %d ratings and scored the %s catalogue in %v (the first request of a domain includes its item tower)\n",
		resp.Model, len(ratings), resp.Domain, el.Round(time.Microsecond))
	return 0
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("recommend serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (loopback by default; the API has no authentication)")
	root := fs.String("C", ".", "repository root")
	model := fs.String("model", defaultModel, "exported model folder (a model with one seed, or a seed-<s> folder; a model with several seeds uses its first)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: recommend serve [flags]\n\nPOST /recommend {\"domain\": \"movies\", \"ratings\": [{\"item\": \"1\", \"value\": 4.5}], \"n\": 10}\nGET /healthz\n\n")
		fs.PrintDefaults()
	}
	if code := parse(fs, args, stderr); code >= 0 {
		return code
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return exit(stderr, usageError{fmt.Sprintf("-addr %q: %v", *addr, err)}, nil)
	}
	start := time.Now()
	svc, err := open(*root, *model)
	if err == nil {
		err = svc.Verify()
	}
	if err != nil {
		fmt.Fprintf(stderr, "recommend serve: refusing to start: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "recommend serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "serving %s (%s, loaded and checked in %v) on http://%s\n", svc.Model(), svc.Source, time.Since(start).Round(time.Millisecond), ln.Addr())
	logger := log.New(stderr, "", log.LstdFlags)
	if err := serve.Serve(ctx, ln, serve.Handler(svc, logger)); err != nil {
		fmt.Fprintf(stderr, "recommend serve: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "stopped")
	return 0
}
