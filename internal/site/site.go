// Package site writes hookrun's static status site ([site] dir, url,
// logs): an index of repositories with each branch's and job's latest
// outcome, a page per repository with its recent runs, a page per run, SVG
// badges per repository/job and repository/branch, and an Atom feed per
// repository. Plain HTML and CSS, no JavaScript, for any static web server.
//
// Update adds one run. It is incremental and atomic: it reads and writes
// only a small index per repository (the newest Recent runs, the names of
// the Keep run pages, the latest run per job and per branch) and one
// site-wide summary, never the history, so its cost does not grow with the
// number of runs recorded;
// every file is written to a temporary name and renamed into place, so a
// web server never serves half a page. Concurrent Updates (units ending
// together) are serialised with a lock file in Dir.
//
// A Site is an outcome.Output.
package site

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/outcome"
)

// DefaultKeep is how many run pages a repository keeps: the same as the
// history's.
const DefaultKeep = 200

// Recent is how many runs a repository's page and feed list. It bounds the
// work of an update: the pages it renders do not grow with Keep.
const Recent = 30

// maxLog bounds the output shown on a run page: its tail is kept.
const maxLog = 256 << 10

// Files under Dir.
const (
	summaryFile = ".hookrun-site.json"  // site-wide: each repository's latest per job and branch
	indexFile   = ".hookrun-index.json" // per repository: newest runs, latest per job and branch
	lockFile    = ".hookrun-site.lock"
	styleFile   = "style.css"
)

// Site is the status site in Dir.
type Site struct {
	// Dir is the directory the site is written to (created if missing).
	Dir string
	// URL is how people reach Dir, e.g. "https://git.example.com/hookrun";
	// it makes the links in feeds and RunURL absolute. Empty: relative.
	URL string
	// Logs puts each run's output (Record.Log) on its page, HTML-escaped.
	Logs bool
	// Keep is how many run pages each repository keeps (0: DefaultKeep);
	// its page and feed list the newest Recent runs.
	Keep int
	// Title heads the index page (empty: "hookrun").
	Title string
}

// Name is "site".
func (s *Site) Name() string { return "site" }

// Deliver adds r to the site (see Update). It never retries: writing
// files either works or fails the same way again.
func (s *Site) Deliver(ctx context.Context, r outcome.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Update(r)
}

var _ outcome.Output = (*Site)(nil)

// RunPath is the run page's path relative to Dir.
func RunPath(repo, unit string) string {
	return fileName(repo) + "/runs/" + fileName(unit) + ".html"
}

// RunURL is the address of r's run page: URL joined with RunPath, or ""
// without URL. It is known when the unit starts, so the forge's pending
// status and the ntfy click can link to it.
func (s *Site) RunURL(repo, unit string) string {
	if s.URL == "" {
		return ""
	}
	return strings.TrimRight(s.URL, "/") + "/" + RunPath(repo, unit)
}

// repoIndex is a repository's small index.
type repoIndex struct {
	Repo     string                    `json:"repo"`
	Runs     []outcome.Record          `json:"runs"`  // newest first, at most Recent
	Pages    []string                  `json:"pages"` // units with a run page, newest first, at most Keep
	Jobs     map[string]outcome.Record `json:"jobs"`
	Branches map[string]outcome.Record `json:"branches"`
}

// summary is the site-wide index: per repository, its latest run per job
// and per branch (no run lists).
type summary struct {
	Repos map[string]repoSummary `json:"repos"`
}

type repoSummary struct {
	Last     outcome.Record            `json:"last"`
	Jobs     map[string]outcome.Record `json:"jobs"`
	Branches map[string]outcome.Record `json:"branches"`
}

// Update adds the run r: its page, the repository's page, feed and the
// two badges it changes, the index page.
func (s *Site) Update(r outcome.Record) error {
	if err := r.Check(); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	if s.Dir == "" {
		return errors.New("site: no directory: set [site] dir")
	}
	keep := s.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	repoDir := filepath.Join(s.Dir, fileName(r.Repo))
	for _, d := range []string{filepath.Join(repoDir, "runs"), filepath.Join(repoDir, "badge", "job"), filepath.Join(repoDir, "badge", "branch")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("site: %w", err)
		}
	}
	unlock, err := lock(filepath.Join(s.Dir, lockFile))
	if err != nil {
		return err
	}
	defer unlock()

	if err := s.writeStyle(); err != nil {
		return err
	}

	// The repository's index.
	var idx repoIndex
	if err := readJSON(filepath.Join(repoDir, indexFile), &idx); err != nil {
		return err
	}
	idx.Repo = r.Repo
	if idx.Jobs == nil {
		idx.Jobs = map[string]outcome.Record{}
	}
	if idx.Branches == nil {
		idx.Branches = map[string]outcome.Record{}
	}
	if s.URL != "" && r.URL == "" {
		r.URL = s.RunURL(r.Repo, r.Unit)
	}
	log := r.Log
	r.Log = ""
	// A unit delivered twice (a retry of the end) replaces its entry.
	idx.Runs = slices.DeleteFunc(idx.Runs, func(o outcome.Record) bool { return o.Unit == r.Unit })
	idx.Runs = append([]outcome.Record{r}, idx.Runs[:min(len(idx.Runs), Recent-1)]...)
	idx.Pages = slices.DeleteFunc(idx.Pages, func(u string) bool { return u == r.Unit })
	idx.Pages = append([]string{r.Unit}, idx.Pages...)
	var dropped []string
	if len(idx.Pages) > keep {
		dropped = idx.Pages[keep:]
		idx.Pages = idx.Pages[:keep:keep]
	}
	idx.Jobs[r.Job] = r
	idx.Branches[r.Branch()] = r

	// Pages first, indexes last: a failure leaves the old index pointing
	// at pages that exist.
	r.Log = log
	if err := s.writeFile(filepath.Join(s.Dir, RunPath(r.Repo, r.Unit)), s.runPage(r)); err != nil {
		return err
	}
	r.Log = ""
	for _, b := range []struct{ dir, name string }{{"job", r.Job}, {"branch", r.Branch()}} {
		if err := s.writeChanged(filepath.Join(repoDir, "badge", b.dir, fileName(b.name)+".svg"), badge(r.Kind)); err != nil {
			return err
		}
	}
	if err := s.writeFile(filepath.Join(repoDir, "feed.atom"), s.feed(idx)); err != nil {
		return err
	}
	if err := s.writeFile(filepath.Join(repoDir, "index.html"), s.repoPage(idx)); err != nil {
		return err
	}
	if err := s.writeJSON(filepath.Join(repoDir, indexFile), idx); err != nil {
		return err
	}

	var sum summary
	if err := readJSON(filepath.Join(s.Dir, summaryFile), &sum); err != nil {
		return err
	}
	if sum.Repos == nil {
		sum.Repos = map[string]repoSummary{}
	}
	sum.Repos[r.Repo] = repoSummary{Last: idx.Runs[0], Jobs: idx.Jobs, Branches: idx.Branches}
	if err := s.writeFile(filepath.Join(s.Dir, "index.html"), s.indexPage(sum)); err != nil {
		return err
	}
	if err := s.writeJSON(filepath.Join(s.Dir, summaryFile), sum); err != nil {
		return err
	}
	// Pages of runs no longer listed go, so the site stays Keep runs per
	// repository; one still named as a job's or branch's latest stays.
	for _, unit := range dropped {
		if latest(idx, unit) {
			continue
		}
		if err := os.Remove(filepath.Join(s.Dir, RunPath(r.Repo, unit))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("site: %w", err)
		}
	}
	return nil
}

// latest reports whether unit is some job's or branch's latest run.
func latest(idx repoIndex, unit string) bool {
	for _, m := range []map[string]outcome.Record{idx.Jobs, idx.Branches} {
		for _, r := range m {
			if r.Unit == unit {
				return true
			}
		}
	}
	return false
}

func (s *Site) writeStyle() error {
	return s.writeChanged(filepath.Join(s.Dir, styleFile), []byte(style))
}

// writeChanged writes path only when its content differs: a badge mostly
// stays as it was, and reading is cheaper than replacing.
func (s *Site) writeChanged(path string, data []byte) error {
	if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, data) {
		return nil
	}
	return s.writeFile(path, data)
}

// writeFile replaces path atomically (internal/atomicfile).
func (s *Site) writeFile(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	return nil
}

func (s *Site) writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("site: encode %s: %w", path, err)
	}
	return s.writeFile(path, append(b, '\n'))
}

// readJSON reads path into v; a missing file leaves v as it is. A broken
// one is an error naming the way out: the site is rebuilt from scratch
// when its indexes are removed.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("site: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("site: %s is damaged (%v): remove it and the site starts again from the next run", path, err)
	}
	return nil
}

// lock takes an exclusive flock on path, waiting for other Updates.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("site: lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// fileName makes s one safe path element: letters, digits, '.', '-' and
// '_' stay; every other byte becomes "~XX" (hex), so different names never
// share a file, and "." or ".." cannot occur.
func fileName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "~%02X", c)
		}
	}
	if b.Len() == 0 {
		return "~"
	}
	return b.String()
}

// timeText renders a time for a page: UTC, to the minute (a static page
// cannot say "3 minutes ago" and stay true).
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
