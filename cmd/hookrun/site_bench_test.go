package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPush200Site is a push of 200 branches into a real bare
// repository whose one job (the exec runner, /bin/true) runs per branch,
// end to end: from `git push` until all 200 units' ends are done (the
// outcome recorded; with [site], the site updated and its delivery
// recorded too), with and without [site]. The two run interleaved, round by round, so the machine's load
// falls on both alike; it reports the medians and their ratio. Rounds:
// HOOKRUN_SITE_PUSH_ROUNDS (default 3). Run it with -benchtime 1x:
//
//	go test ./cmd/hookrun -run '^$' -bench 'BenchmarkPush200Site$' -benchtime 1x
func BenchmarkPush200Site(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Fatal("needs git")
	}
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("HOOKRUN_SITE_PUSH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "hookrun")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	const units = 200
	env := append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@x", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@x",
		"HOOKRUN_CONFIG="+filepath.Join(dir, "global.toml"), "PATH="+dir+":"+os.Getenv("PATH"))
	if err := os.WriteFile(filepath.Join(dir, "global.toml"), []byte("version = 1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	run := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	// One push: a fresh repository, 200 new branches at once.
	push := func(round int, site bool) (pushed, ended time.Duration) {
		d := filepath.Join(dir, fmt.Sprintf("r%d-%v", round, site))
		repo, work := filepath.Join(d, "r.git"), filepath.Join(d, "work")
		run("git", "init", "-q", "--bare", "-b", "main", repo)
		run(bin, "install", "--no-timer", repo)
		cfg := "version = 1\n[defaults]\nrunner = \"exec\"\n[jobs.build]\ntype = \"command\"\ncommand = [\"/bin/true\"]\n[[rules]]\nbranches = [\"b*\"]\njobs = [\"build\"]\n"
		if site {
			cfg += fmt.Sprintf("[site]\ndir = %q\nurl = \"https://ci.example.com/hookrun\"\n", filepath.Join(d, "www"))
		}
		if err := os.WriteFile(filepath.Join(repo, "hooks.toml"), []byte(cfg), 0o644); err != nil {
			b.Fatal(err)
		}
		run("git", "clone", "-q", repo, work)
		run("git", "-C", work, "commit", "-q", "--allow-empty", "-m", "x")
		args := []string{"-C", work, "push", "-q", "origin"}
		for i := range units {
			args = append(args, fmt.Sprintf("HEAD:refs/heads/b%03d", i))
		}
		hist := filepath.Join(repo, "hookrun", "history.jsonl")
		t0 := time.Now()
		run("git", args...)
		pushed = time.Since(t0)
		// Measuring, not ordering: poll until every unit's end is done:
		// its outcome recorded and, with [site], the site updated (its
		// delivery recorded after).
		done := []byte("\n")
		if site {
			done = []byte(`"outputs":[{"output":"site","state":"delivered"}]`)
		}
		deadline := t0.Add(5 * time.Minute)
		for {
			data, _ := os.ReadFile(hist)
			if n := bytes.Count(data, done); n >= units {
				ended = time.Since(t0)
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("round %d site=%v: not every outcome recorded within 5 minutes", round, site)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if site {
			if _, err := os.Stat(filepath.Join(d, "www", "r", "index.html")); err != nil {
				b.Fatalf("no site written: %v", err)
			}
		}
		return pushed, ended
	}
	var without, with, pushWithout, pushWith []float64
	for range b.N {
		for r := range rounds {
			// Alternate which goes first.
			for _, site := range []bool{r%2 == 1, r%2 == 0} {
				p, e := push(r, site)
				if site {
					with, pushWith = append(with, e.Seconds()), append(pushWith, p.Seconds())
				} else {
					without, pushWithout = append(without, e.Seconds()), append(pushWithout, p.Seconds())
				}
				b.Logf("round %d site=%v: push %.3fs, all %d outcomes recorded %.3fs", r, site, p.Seconds(), units, e.Seconds())
			}
		}
	}
	b.ReportMetric(median(without), "s-end-nosite")
	b.ReportMetric(median(with), "s-end-site")
	b.ReportMetric(median(with)/median(without), "ratio-end")
	b.ReportMetric(median(pushWith)/median(pushWithout), "ratio-push")
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
