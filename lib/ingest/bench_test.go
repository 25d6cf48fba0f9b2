package ingest

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/testutil"
)

// benchRatings reads one real ratings file per iteration through its reader,
// into a sink that only counts, so the numbers are ingest's own throughput.
func benchRatings(b *testing.B, rel, format string, mode splitMode, read func(*domainCtx, *fileCtx, Sink) error) {
	path := filepath.Join(testutil.DataRoot(b), filepath.FromSlash(rel))
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		fh, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rep := NewReport()
		d, err := newDomain(Input{Domain: "bench"}, format, rep)
		if err != nil {
			b.Fatal(err)
		}
		f := newFileCtx(rel, fh, mode, rep.file("bench", format, rel, "ratings"))
		var n int64
		if err := read(d, f, Sink{Interaction: func(schema.Interaction) error { n++; return nil }}); err != nil {
			b.Fatal(err)
		}
		f.close()
		fh.Close()
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkMovieLensRatings(b *testing.B) {
	benchRatings(b, "movielens-latest-small/ratings.csv", FormatMovieLensCSV, modeCSV, (*domainCtx).readMLRatingsCSV)
}

func BenchmarkDoubanRatings(b *testing.B) {
	benchRatings(b, "douban-cross-domain/douban_book/ratings.dat", FormatDouban, modeTab, (*domainCtx).readDoubanRatings)
}

func BenchmarkGoodbooksRatings(b *testing.B) {
	benchRatings(b, "goodbooks-10k-ratings/ratings_random.csv", FormatGoodbooks, modeCSV, (*domainCtx).readGBRatings)
}

// synthRatings generates a MovieLens ratings.csv of n rows on the fly, so a
// test can stream millions of rows without a file.
type synthRatings struct {
	n, i int
	buf  []byte
}

func (s *synthRatings) Read(p []byte) (int, error) {
	if len(s.buf) == 0 {
		if s.i == 0 {
			s.buf = append(s.buf, "userId,movieId,rating,timestamp\r\n"...)
		}
		for ; s.i < s.n && len(s.buf) < 64<<10; s.i++ {
			s.buf = strconv.AppendInt(s.buf, int64(1+s.i%160000), 10)
			s.buf = append(s.buf, ',')
			s.buf = strconv.AppendInt(s.buf, int64(1+(s.i*7919)%60000), 10)
			s.buf = append(s.buf, ',')
			s.buf = strconv.AppendFloat(s.buf, float64(1+s.i%10)/2, 'f', 1, 64)
			s.buf = append(s.buf, ',')
			s.buf = strconv.AppendInt(s.buf, int64(1e9+s.i), 10)
			s.buf = append(s.buf, "\r\n"...)
		}
		if len(s.buf) == 0 {
			return 0, io.EOF
		}
	}
	k := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[k:])]
	return k, nil
}

// TestStreamingMemory streams 1.5M synthetic ratings (ml-25m-like id ranges)
// and checks that the reader allocates far less than once per row and that
// the heap stays flat: memory follows distinct ids, not rows.
func TestStreamingMemory(t *testing.T) {
	const n = 1_500_000
	rep := NewReport()
	d, err := newDomain(Input{Domain: "m"}, FormatMovieLensCSV, rep)
	if err != nil {
		t.Fatal(err)
	}
	f := newFileCtx("synth.csv", &synthRatings{n: n}, modeCSV, rep.file("m", FormatMovieLensCSV, "synth.csv", "ratings"))
	runtime.GC()
	var before, ms runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	rows := 0
	sink := Sink{Interaction: func(x schema.Interaction) error {
		if rows++; rows%250_000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	}}
	if err := d.readMLRatingsCSV(f, sink); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	if rows != n || f.rep.Malformed != 0 {
		t.Fatalf("%d rows, %d malformed", rows, f.rep.Malformed)
	}
	// Interning allocates once per distinct user and movie (220k here), the
	// timestamp slab once per 256 rows; rows themselves allocate nothing.
	if perRow := float64(ms.Mallocs-before.Mallocs) / n; perRow > 0.3 {
		t.Errorf("%.3f allocations per row, want well under 1", perRow)
	}
	if peak > 200<<20 {
		t.Errorf("heap peaked at %d MiB streaming %d rows", peak>>20, n)
	}
	t.Logf("%.3f allocs/row, peak heap %d MiB", float64(ms.Mallocs-before.Mallocs)/n, peak>>20)
}
