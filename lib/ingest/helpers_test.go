package ingest

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
)

// collector is a Sink that keeps every row.
type collector struct {
	inter  []schema.Interaction
	items  []schema.Item
	tags   []schema.Tag
	toRead []ToRead
}

func (c *collector) sink() Sink {
	return Sink{
		Interaction: func(x schema.Interaction) error { c.inter = append(c.inter, x); return nil },
		Item:        func(x schema.Item) error { c.items = append(c.items, x); return nil },
		Tag:         func(x schema.Tag) error { c.tags = append(c.tags, x); return nil },
		ToRead:      func(x ToRead) error { c.toRead = append(c.toRead, x); return nil },
	}
}

func (c *collector) users() map[string]bool {
	m := map[string]bool{}
	for _, x := range c.inter {
		m[x.User] = true
	}
	return m
}

func (c *collector) ratedItems() map[string]bool {
	m := map[string]bool{}
	for _, x := range c.inter {
		m[x.Item] = true
	}
	return m
}

func (c *collector) item(id string) (schema.Item, bool) {
	for _, it := range c.items {
		if it.Item == id {
			return it, true
		}
	}
	return schema.Item{}, false
}

// checkInvariants returns the first emitted row that breaks the contract
// every stage relies on: non-empty ids, the namespace on users, finite
// values, ratings on their scale, play counts positive.
func (c *collector) checkInvariants(domain, ns string) error {
	for _, x := range c.inter {
		if err := interactionInvariant(x, domain, ns); err != nil {
			return err
		}
	}
	for _, x := range c.items {
		switch {
		case x.Domain != domain || x.Item == "":
			return fmt.Errorf("bad item ids: %+v", x)
		case x.AvgRating != nil && (math.IsNaN(*x.AvgRating) || *x.AvgRating < 0 || *x.AvgRating > 5):
			return fmt.Errorf("bad avg rating: %+v", x)
		case x.RatingsCount != nil && *x.RatingsCount < 0:
			return fmt.Errorf("bad ratings count: %+v", x)
		}
		for _, g := range append(append([]string{}, x.Genres...), x.Creators...) {
			if g == "" {
				return fmt.Errorf("empty genre or creator: %+v", x)
			}
		}
	}
	for _, x := range c.tags {
		if x.Domain != domain || x.Item == "" || x.Tag == "" || !strings.HasPrefix(x.User, ns+":") || len(x.User) == len(ns)+1 || x.Line < 1 {
			return fmt.Errorf("bad tag: %+v", x)
		}
	}
	for _, x := range c.toRead {
		if x.Domain != domain || x.Item == "" || !strings.HasPrefix(x.User, ns+":") || len(x.User) == len(ns)+1 || x.Line < 1 {
			return fmt.Errorf("bad to_read: %+v", x)
		}
	}
	return nil
}

func interactionInvariant(x schema.Interaction, domain, ns string) error {
	switch {
	case x.Domain != domain, x.Item == "", !strings.HasPrefix(x.User, ns+":"), len(x.User) == len(ns)+1:
		return fmt.Errorf("bad ids: %+v", x)
	case math.IsNaN(x.Value) || math.IsInf(x.Value, 0):
		return fmt.Errorf("non-finite value: %+v", x)
	case x.Line < 1 || x.Source == "":
		return fmt.Errorf("no lineage: %+v", x)
	}
	switch x.Kind {
	case schema.KindRating:
		if x.Value < 0.5 || x.Value > 5 || x.Value*2 != math.Trunc(x.Value*2) {
			return fmt.Errorf("rating out of range: %+v", x)
		}
	case schema.KindPlaycount:
		if x.Value < 1 || x.Value != math.Trunc(x.Value) {
			return fmt.Errorf("bad play count: %+v", x)
		}
	default:
		return fmt.Errorf("bad kind: %+v", x)
	}
	return nil
}

// writeFiles writes fixture files (name -> content) under a fresh folder and
// returns it.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// crlf turns LF line endings into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// readOne runs one per-file reader over data, the way the fuzz tests and
// small unit tests exercise a parser without files.
func readOne(format string, mode splitMode, data []byte, read func(d *domainCtx, f *fileCtx, c *collector) error) (*collector, *FileReport, error) {
	return readOneWith(format, mode, data, false, read)
}

// readOneWith is readOne with the ratings fast path on or off.
func readOneWith(format string, mode splitMode, data []byte, noFast bool, read func(d *domainCtx, f *fileCtx, c *collector) error) (*collector, *FileReport, error) {
	rep := NewReport()
	d, err := newDomain(Input{Domain: "d", Namespace: "ns"}, format, rep)
	if err != nil {
		return nil, nil, err
	}
	d.noFast = noFast
	f := newFileCtx("f", bytes.NewReader(data), mode, rep.file("d", format, "f", "test"))
	c := &collector{}
	err = read(d, f, c)
	f.close()
	return c, f.rep, err
}
