package site

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

var t0 = time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)

func rec(i int, repo, job, branch string, k outcome.Kind) outcome.Record {
	r := outcome.Record{Kind: k, Started: t0.Add(time.Duration(i) * time.Minute), Duration: time.Duration(30+i%90) * time.Second,
		Repo: repo, Job: job, Unit: fmt.Sprintf("hookrun-%s-%s-%06d.service", repo, job, i), Ref: "refs/heads/" + branch,
		Old: strings.Repeat("1", 40), New: fmt.Sprintf("%040x", i+1), Pusher: "ana"}
	if k != outcome.Success {
		r.Reason = "exit status 2"
	}
	return r
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUpdate(t *testing.T) {
	dir := t.TempDir()
	s := &Site{Dir: filepath.Join(dir, "www"), URL: "https://git.example.com/hookrun/", Logs: true}
	runs := []outcome.Record{
		rec(1, "site", "build", "main", outcome.Success),
		rec(2, "site", "test", "feature/x", outcome.Failure),
		rec(3, "api", "deploy", "main", outcome.Cancelled),
		rec(4, "site", "build", "main", outcome.Failure),
	}
	runs[3].Log = "step 1\n<script>alert(1)</script> & more\n"
	for _, r := range runs {
		if err := s.Update(r); err != nil {
			t.Fatal(err)
		}
	}
	www := s.Dir
	index := read(t, filepath.Join(www, "index.html"))
	for _, want := range []string{`href="site/index.html"`, `href="api/index.html"`, "feature/x", "✗ failing", "⊘ cancelled", `<meta name="viewport"`} {
		if !strings.Contains(index, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Contains(index, "<script") {
		t.Error("index.html has a script")
	}
	repo := read(t, filepath.Join(www, "site", "index.html"))
	for _, want := range []string{fileName(runs[0].Unit), fileName(runs[1].Unit), fileName(runs[3].Unit), "badge/branch/feature~2Fx.svg", "badge/job/build.svg", `href="feed.atom"`} {
		if !strings.Contains(repo, want) {
			t.Errorf("site/index.html lacks %q", want)
		}
	}
	run := read(t, filepath.Join(www, RunPath("site", runs[3].Unit)))
	if !strings.Contains(run, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more") || strings.Contains(run, "<script>") {
		t.Errorf("run page does not escape the log:\n%s", run)
	}
	for _, want := range []string{"failure after 34s: exit status 2", runs[3].New, "ana", `href="../index.html"`, `href="../../style.css"`} {
		if !strings.Contains(run, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	// The job's badge follows its latest run; the branch's too.
	if b := read(t, filepath.Join(www, "site", "badge", "job", "build.svg")); !strings.Contains(b, ">failing<") || !strings.Contains(b, ">hookrun<") {
		t.Errorf("build badge:\n%s", b)
	}
	if b := read(t, filepath.Join(www, "api", "badge", "branch", "main.svg")); !strings.Contains(b, ">cancelled<") {
		t.Errorf("api main badge:\n%s", b)
	}
	var feed atomFeed
	if err := xml.Unmarshal([]byte(read(t, filepath.Join(www, "site", "feed.atom"))), &feed); err != nil {
		t.Fatal(err)
	}
	if len(feed.Entries) != 3 || feed.Entries[0].Link.Href != "https://git.example.com/hookrun/site/runs/"+fileName(runs[3].Unit)+".html" {
		t.Errorf("feed: %d entries, first %+v", len(feed.Entries), feed.Entries)
	}
	if got := s.RunURL("site", runs[3].Unit); got != feed.Entries[0].Link.Href {
		t.Errorf("RunURL %q, feed link %q", got, feed.Entries[0].Link.Href)
	}
	// No temporary file is left behind.
	filepath.Walk(www, func(p string, fi os.FileInfo, err error) error {
		if strings.Contains(fi.Name(), ".tmp-") { // atomicfile's temporary names
			t.Errorf("left behind: %s", p)
		}
		return nil
	})

	// Without logs = true the output stays on the server.
	s.Logs = false
	r := rec(5, "site", "build", "main", outcome.Failure)
	r.Log = "SECRET=1"
	if err := s.Update(r); err != nil {
		t.Fatal(err)
	}
	if run := read(t, filepath.Join(www, RunPath("site", r.Unit))); strings.Contains(run, "SECRET") || !strings.Contains(run, "hookrun logs "+r.Unit) {
		t.Errorf("run page with logs off:\n%s", run)
	}
	for _, f := range []string{filepath.Join(www, "site", indexFile), filepath.Join(www, summaryFile)} {
		if strings.Contains(read(t, f), "SECRET") || strings.Contains(read(t, f), "<script>") {
			t.Errorf("%s holds the log", f)
		}
	}
}

func TestKeepAndNames(t *testing.T) {
	s := &Site{Dir: t.TempDir(), Keep: 5}
	for i := range 12 {
		if err := s.Update(rec(i, "../evil", "build", "main", outcome.Success)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(rec(99, "../evil", "lint", "dev", outcome.Failure)); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(s.Dir, fileName("../evil"), "runs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5 {
		t.Errorf("%d run pages, want Keep = 5", len(entries))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.Dir), "evil")); err == nil {
		t.Error("a repository name escaped the site directory")
	}
	for _, tc := range []struct{ in, want string }{{"main", "main"}, {"feature/x", "feature~2Fx"}, {"..", "~2E."}, {".git", "~2Egit"}, {"", "~"}, {"a~b", "a~7Eb"}} {
		if got := fileName(tc.in); got != tc.want {
			t.Errorf("fileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if err := s.Update(outcome.Record{Kind: outcome.Success}); err == nil || !strings.Contains(err.Error(), "lacks") {
		t.Errorf("an empty record: %v", err)
	}
}

func TestDamagedIndex(t *testing.T) {
	s := &Site{Dir: t.TempDir()}
	if err := s.Update(rec(1, "site", "build", "main", outcome.Success)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.Dir, "site", indexFile)
	os.WriteFile(p, []byte("{"), 0o644)
	err := s.Update(rec(2, "site", "build", "main", outcome.Success))
	if err == nil || !strings.Contains(err.Error(), "remove it and the site starts again") {
		t.Errorf("damaged index: %v", err)
	}
}

func FuzzFileName(f *testing.F) {
	for _, s := range []string{"main", "feature/x", "..", ".", "a b", "ü", "~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := fileName(s)
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") || strings.HasPrefix(n, ".") {
			t.Fatalf("fileName(%q) = %q: not one safe path element", s, n)
		}
	})
}

var benchJobs = []string{"build", "test", "deploy", "lint"}

// BenchmarkUpdate compares an update after the first run, after 200 (the
// index is full) and after 10,000 (HOOKRUN_SITE_BENCH_RUNS changes that
// number). The cost must not grow with the runs recorded: after=10000 and
// after=200 stay about equal, and neither far above after=1.
//
//	go test ./internal/site -run '^$' -bench BenchmarkUpdate -benchtime 100x
func BenchmarkUpdate(b *testing.B) {
	many := 10000
	if v := os.Getenv("HOOKRUN_SITE_BENCH_RUNS"); v != "" {
		fmt.Sscan(v, &many)
	}
	b.Run("after=1", func(b *testing.B) {
		// Each update is the second one of a fresh site.
		root := b.TempDir()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			s := &Site{Dir: filepath.Join(root, fmt.Sprint(i)), Logs: true}
			if err := s.Update(rec(0, "site", "build", "main", outcome.Success)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := s.Update(rec(1, "site", benchJobs[i%len(benchJobs)], "main", outcome.Failure)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// After DefaultKeep runs the index is full: from then on an update
	// does the same work however many runs came before.
	for _, n := range []int{DefaultKeep, many} {
		b.Run(fmt.Sprintf("after=%d", n), func(b *testing.B) {
			s := &Site{Dir: b.TempDir(), Logs: true}
			for i := range n {
				if err := s.Update(rec(i, "site", benchJobs[i%len(benchJobs)], "main", outcome.Kind(1+i%3))); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; b.Loop(); i++ {
				if err := s.Update(rec(n+i, "site", benchJobs[i%len(benchJobs)], "main", outcome.Failure)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestConcurrentUpdates: units ending together each get their run into
// the index (the lock file serialises them; no update is lost).
func TestConcurrentUpdates(t *testing.T) {
	s := &Site{Dir: t.TempDir()}
	const n = 12
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- s.Update(rec(i, "site", benchJobs[i%len(benchJobs)], "main", outcome.Success)) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var idx repoIndex
	if err := readJSON(filepath.Join(s.Dir, "site", indexFile), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Runs) != n || len(idx.Pages) != n || len(idx.Jobs) != len(benchJobs) {
		t.Errorf("%d runs, %d pages, %d jobs in the index; want %d, %d, %d", len(idx.Runs), len(idx.Pages), len(idx.Jobs), n, n, len(benchJobs))
	}
}

// BenchmarkUpdateRatio interleaves the updates BenchmarkUpdate compares,
// so a loaded machine slows them alike: each round times the second
// update of a fresh site, one more update of a site that recorded
// DefaultKeep (200) runs and one of a site that recorded 10,000
// (HOOKRUN_SITE_BENCH_RUNS), and reports the medians, and the ratios of
// the 10,000 case to the others. After 200 runs the work is fixed (the
// pages list the newest Recent runs), so ratio-to-200 is about 1; the
// first pages list one run, so ratio-to-1 is a little above it.
//
//	go test ./internal/site -run '^$' -bench BenchmarkUpdateRatio -benchtime 200x
func BenchmarkUpdateRatio(b *testing.B) {
	many := 10000
	if v := os.Getenv("HOOKRUN_SITE_BENCH_RUNS"); v != "" {
		fmt.Sscan(v, &many)
	}
	root := b.TempDir()
	prefill := func(name string, n int) *Site {
		s := &Site{Dir: filepath.Join(root, name), Logs: true}
		for i := range n {
			if err := s.Update(rec(i, "site", benchJobs[i%len(benchJobs)], "main", outcome.Kind(1+i%3))); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	mid, big := prefill("mid", DefaultKeep), prefill("big", many)
	var first, keep, after []time.Duration
	timed := func(s *Site, r outcome.Record, into *[]time.Duration) {
		start := time.Now()
		if err := s.Update(r); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(start))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		fresh := prefill(fmt.Sprint(i), 1)
		r := rec(many+i, "site", benchJobs[i%len(benchJobs)], "main", outcome.Failure)
		timed(fresh, r, &first)
		timed(mid, r, &keep)
		timed(big, r, &after)
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	mf, mk, ma := median(first), median(keep), median(after)
	b.ReportMetric(float64(mf.Microseconds())/1000, "ms-after-1")
	b.ReportMetric(float64(mk.Microseconds())/1000, fmt.Sprintf("ms-after-%d", DefaultKeep))
	b.ReportMetric(float64(ma.Microseconds())/1000, fmt.Sprintf("ms-after-%d", many))
	b.ReportMetric(float64(ma)/float64(mk), fmt.Sprintf("ratio-%d-to-%d", many, DefaultKeep))
	b.ReportMetric(float64(ma)/float64(mf), fmt.Sprintf("ratio-%d-to-1", many))
}
