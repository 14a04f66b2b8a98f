package site

import (
	"bytes"
	"context"
	"crypto/sha1"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/peertest"
)

// -screenshots DIR writes the documentation's screenshots (docs/site) from
// the demo site TestChromium renders:
//
//	go test ./internal/site -run TestChromium -args -screenshots $PWD/docs/site
var screenshots = flag.String("screenshots", "", "write the docs' screenshots of the demo site into this directory")

// demoSite writes a small site with two repositories, passing, failing,
// cancelled and lost runs, and a failed run with its output.
func demoSite(t *testing.T, dir string) (failed outcome.Record) {
	s := &Site{Dir: dir, URL: "https://git.example.com/hookrun", Logs: true}
	start := time.Date(2026, 12, 6, 18, 2, 0, 0, time.UTC)
	var n int
	add := func(repo, job, branch, pusher string, k outcome.Kind, d time.Duration, reason, log string) outcome.Record {
		n++
		r := outcome.Record{Kind: k, Reason: reason, Started: start.Add(time.Duration(n) * 7 * time.Minute), Duration: d,
			Repo: repo, Job: job, Unit: fmt.Sprintf("hookrun-%s-%s-%d.service", repo, job, 4100+n), Ref: "refs/heads/" + branch,
			Old: fmt.Sprintf("%x", sha1.Sum([]byte{byte(n)})), New: fmt.Sprintf("%x", sha1.Sum([]byte{byte(n), 1})), Pusher: pusher, Log: log}
		if err := s.Update(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	add("website", "gitmal", "main", "ana", outcome.Success, 12*time.Second, "", "")
	add("website", "deploy", "main", "ana", outcome.Success, 48*time.Second, "", "")
	add("api", "test", "main", "bo", outcome.Success, 3*time.Minute+4*time.Second, "", "")
	add("api", "test", "feature/rate-limit", "bo", outcome.Cancelled, 40*time.Second, "replaced by a newer push", "")
	add("api", "build-arm64", "main", "bo", outcome.Lost, 5*time.Minute, "lost contact with buildhost", "")
	add("website", "gitmal", "draft/new-theme", "chen", outcome.Success, 11*time.Second, "", "")
	failed = add("api", "test", "feature/rate-limit", "bo", outcome.Failure, 2*time.Minute+13*time.Second, "exit status 1",
		"=== RUN   TestLimiter\n    limiter_test.go:42: got 11 requests through, want at most 10\n--- FAIL: TestLimiter (0.02s)\n=== RUN   TestBurst\n--- PASS: TestBurst (0.01s)\nFAIL\nFAIL\texample.com/api/limit\t0.118s\n<html> in the output stays text & is escaped\n")
	add("website", "deploy", "draft/new-theme", "chen", outcome.Failure, 9*time.Second, "exit status 23", "rsync: [sender] link_stat \"public/\" failed: No such file or directory (2)\n")
	return failed
}

// chromium runs headless Chromium on args (plus the options a container
// needs) and returns its stdout.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// TestChromium renders the demo site and loads its pages in a real
// browser: the DOM Chromium builds has the content (no script needed),
// and screenshots are real images.
func TestChromium(t *testing.T) {
	bin := peertest.Chromium(t)
	dir := t.TempDir()
	failed := demoSite(t, dir)
	pages := []struct {
		name, path string
		want       []string
		width      int
		height     int
	}{
		{"index", "index.html", []string{"api", "website", "feature/rate-limit", "failing"}, 1000, 760},
		{"repo", "api/index.html", []string{"Recent runs", "build-arm64", "lost contact with buildhost"}, 1000, 760},
		{"run-failed", RunPath("api", failed.Unit), []string{"TestLimiter", "&lt;html&gt; in the output", "exit status 1"}, 1000, 760},
		{"run-failed-phone", RunPath("api", failed.Unit), []string{"TestLimiter"}, 390, 844},
		{"repo-phone", "api/index.html", []string{"Recent runs"}, 390, 844},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			url := "file://" + filepath.Join(dir, p.path)
			dom := string(chromium(t, bin, "--dump-dom", url))
			for _, w := range p.want {
				if !strings.Contains(dom, w) {
					t.Errorf("the DOM of %s lacks %q:\n%s", p.path, w, dom)
				}
			}
			if strings.Contains(dom, "<script") {
				t.Errorf("%s has a script", p.path)
			}
			shot := filepath.Join(t.TempDir(), p.name+".png")
			chromium(t, bin, fmt.Sprintf("--window-size=%d,%d", p.width, p.height), "--screenshot="+shot, url)
			f, err := os.Open(shot)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatalf("screenshot %s: %v", shot, err)
			}
			if b := img.Bounds(); b.Dx() != p.width || b.Dy() != p.height {
				t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), p.width, p.height)
			}
			// Not blank: the page drew something other than its background.
			colours := map[uint32]bool{}
			for y := 0; y < img.Bounds().Dy(); y += 7 {
				for x := 0; x < img.Bounds().Dx(); x += 7 {
					r, g, b, _ := img.At(x, y).RGBA()
					colours[r>>8<<16|g>>8<<8|b>>8] = true
				}
			}
			if len(colours) < 8 {
				t.Errorf("screenshot of %s looks blank: %d colours", p.path, len(colours))
			}
			if *screenshots != "" {
				data, err := os.ReadFile(shot)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(*screenshots, p.name+".png"), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
