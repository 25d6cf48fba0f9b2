// Command recommend adapts a trained model to a new user's few ratings in
// one domain and prints the top-N items of that domain's whole catalogue.
//
//	go run ./cmd/recommend -domain movies -rate 1=5,318=4.5,296=2 -n 10
//	go run ./cmd/recommend -model artifacts/models/ncf -domain books -rate 2767052=5 -json
//
// Ratings are in the published scale (stars; play counts for Last.fm) and
// item ids are the dataset's own. The backend is pure Go unless
// $GOMLX_BACKEND says otherwise.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/serve"
	"github.com/crossrec/crossrec/lib/tasks"
)

func main() {
	root := flag.String("C", ".", "repository root")
	model := flag.String("model", "artifacts/models/maml", "exported model folder (a model with one seed, or a seed-<s> folder; a model with several seeds uses its first)")
	domain := flag.String("domain", "", "domain of the ratings and of the recommendations")
	rate := flag.String("rate", "", "the user's ratings: item=value,item=value,...")
	n := flag.Int("n", 10, "number of items to return")
	asJSON := flag.Bool("json", false, "print JSON instead of a table")
	flag.Parse()
	if err := run(*root, *model, *domain, *rate, *n, *asJSON); err != nil {
		fmt.Fprintf(os.Stderr, "recommend: %v\n", err)
		os.Exit(1)
	}
}

func parseRatings(s string) ([]serve.Rating, error) {
	var out []serve.Rating
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("-rate: %q is not item=value", part)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("-rate: %q: %w", part, err)
		}
		out = append(out, serve.Rating{Item: strings.TrimSpace(id), Value: x})
	}
	return out, nil
}

func run(root, model, domain, rate string, n int, asJSON bool) error {
	if domain == "" {
		return fmt.Errorf("-domain is required")
	}
	ratings, err := parseRatings(rate)
	if err != nil {
		return err
	}
	path := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	items, _, err := tasks.LoadItems(path("artifacts/tasks/items.arrow"))
	if err != nil {
		return err
	}
	dir := path(model)
	if seeds, err := models.SeedDirs(dir); err == nil && len(seeds) > 1 {
		dir = seeds[0]
	}
	m, err := models.LoadModel(dir, items)
	if err != nil {
		return err
	}
	svc, err := serve.New(m, items, path("artifacts/normalize/scalers.parquet"))
	if err != nil {
		return err
	}
	start := time.Now()
	recs, err := svc.Recommend(domain, ratings, n)
	if err != nil {
		return err
	}
	el := time.Since(start)
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(recs)
	}
	fmt.Printf("%-5s %-24s %10s %10s\n", "rank", "item", "rank score", "predicted")
	for _, r := range recs {
		fmt.Printf("%-5d %-24s %10.4f %10.3f\n", r.Rank, r.Item, r.Score, r.Predicted)
	}
	fmt.Fprintf(os.Stderr, "%s: adapted to %d ratings and scored the %s catalogue in %v (the first request of a domain includes its item tower)\n",
		m.Name(), len(ratings), domain, el.Round(time.Microsecond))
	return nil
}
