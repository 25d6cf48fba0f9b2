package pipeline

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/ingest"
	"github.com/crossrec/crossrec/lib/schema"
)

func ingestStage(dataRoot string) Stage {
	return Stage{
		Name:    "ingest",
		Deps:    deps([]string{dataRoot}, code("ingest", "ingest")),
		Outs:    []string{IngestInteractions, IngestItems, IngestTags},
		Metrics: []string{IngestReport},
		Params:  []string{"data", "ingest"},
		Run:     runIngest,
	}
}

// runIngest reads every configured domain, in sorted order, into three
// streamed artifacts. A file with too many malformed rows fails the stage
// and, the writes being atomic, leaves no artifact behind.
func runIngest(env Env) error {
	p, err := env.Load()
	if err != nil {
		return err
	}
	lineage, err := env.Lineage(p, "ingest", []string{"data", "ingest"})
	if err != nil {
		return err
	}
	root := p.DataRoot()
	xw, err := artifact.Create[schema.Interaction](env.Path(IngestInteractions), lineage)
	if err != nil {
		return err
	}
	defer xw.Abort()
	iw, err := artifact.Create[schema.Item](env.Path(IngestItems), lineage)
	if err != nil {
		return err
	}
	defer iw.Abort()
	tw, err := artifact.Create[schema.Tag](env.Path(IngestTags), lineage)
	if err != nil {
		return err
	}
	defer tw.Abort()
	xs := newBatcher(xw.Write)
	its := newBatcher(iw.Write)
	tags := newBatcher(tw.Write)
	sink := ingest.Sink{Interaction: xs.add, Item: its.add, Tag: tags.add}
	rep := ingest.NewReport()
	for _, d := range p.DomainNames() {
		if err := ingest.ReadDomain(root, d, p.Data.Domains[d], sink, rep); err != nil {
			return err
		}
	}
	if err := rep.CheckMalformed(p.Ingest.MaxMalformedFraction); err != nil {
		return err
	}
	for _, b := range []interface{ flush() error }{xs, its, tags} {
		if err := b.flush(); err != nil {
			return err
		}
	}
	// Lineage: every raw file read, by its path under the data root, with
	// its sha256 (paths relative to the root, so moving the data does not
	// change the artifacts).
	var files []string
	for _, dr := range rep.Domains {
		for f := range dr.Files {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	for _, f := range files {
		path := f
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, filepath.FromSlash(f))
		}
		h, err := artifact.FileSHA256(path)
		if err != nil {
			return err
		}
		lineage.Inputs["data/"+f] = h
	}
	xw.SetLineage(lineage)
	iw.SetLineage(lineage)
	tw.SetLineage(lineage)
	for _, c := range []interface{ Close() (string, error) }{xw, iw, tw} {
		if _, err := c.Close(); err != nil {
			return err
		}
	}
	if err := artifact.WriteJSON(env.Path(IngestReport), rep); err != nil {
		return fmt.Errorf("ingest report: %w", err)
	}
	return nil
}

// batcher buffers rows from callbacks into slices for the Parquet writer.
type batcher[T any] struct {
	buf   []T
	write func([]T) error
}

func newBatcher[T any](write func([]T) error) *batcher[T] {
	return &batcher[T]{buf: make([]T, 0, 8192), write: write}
}

func (b *batcher[T]) add(x T) error {
	b.buf = append(b.buf, x)
	if len(b.buf) == cap(b.buf) {
		return b.flush()
	}
	return nil
}

func (b *batcher[T]) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	err := b.write(b.buf)
	b.buf = b.buf[:0]
	return err
}
