package policy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/secrets"
)

// benchRepo makes a bare repository holding commits new to it (reachable
// from no ref, as in a pre-receive hook): commits commits, each adding
// files new files of blobSize bytes (git fast-import, in one process).
// It returns the repository and the tip.
func benchRepo(b testing.TB, commits, files, blobSize int) (string, string) {
	b.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("no git")
	}
	repo := filepath.Join(b.TempDir(), "r.git")
	run := func(stdin func(w *bufio.Writer), args ...string) string {
		cmd := exec.Command("git", append([]string{"--git-dir", repo}, args...)...)
		var in *os.File
		if stdin != nil {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			cmd.Stdin, in = r, w
			go func() {
				bw := bufio.NewWriterSize(w, 1<<20)
				stdin(bw)
				bw.Flush()
				w.Close()
			}()
		}
		out, err := cmd.CombinedOutput()
		if in != nil {
			cmd.Stdin.(*os.File).Close()
		}
		if err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", repo).CombinedOutput(); err != nil {
		b.Fatalf("git init: %v\n%s", err, out)
	}
	text := "lorem ipsum dolor sit amet, consectetur adipiscing elit\n"
	line := strings.Repeat(text, blobSize/len(text)+1)[:blobSize]
	run(func(w *bufio.Writer) {
		mark := 0
		for c := 0; c < commits; c++ {
			fmt.Fprintf(w, "commit refs/heads/import\nauthor A U Thor <a@example.com> %d +0000\n", 1700000000+c)
			fmt.Fprintf(w, "committer A U Thor <a@example.com> %d +0000\n", 1700000000+c)
			msg := fmt.Sprintf("feat: change %d\n\nSigned-off-by: A U Thor <a@example.com>\n", c)
			fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
			for f := 0; f < files; f++ {
				mark++
				data := fmt.Sprintf("%d\n", mark) + line
				fmt.Fprintf(w, "M 100644 inline src/%d/file%d.txt\ndata %d\n%s\n", c%100, mark, len(data), data)
			}
		}
	}, "fast-import", "--quiet")
	tip := run(nil, "rev-parse", "refs/heads/import")
	run(nil, "update-ref", "-d", "refs/heads/import") // the objects stay; no ref reaches them
	return repo, tip
}

func benchPolicies(b testing.TB, src string) []*config.Policy {
	b.Helper()
	f, diags := config.Parse(strings.NewReader(src), "hooks.toml")
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	c, diags := config.Merge(nil, f)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	return c.Policies
}

// BenchmarkPush10kCommits50kBlobs checks a push of 10,000 new commits and
// 50,000 new blobs against message, email, DCO, file-name and file-size
// policies: one rev-list, one cat-file --batch for the commits, one
// diff-tree and one cat-file --batch-check for the blobs.
func BenchmarkPush10kCommits50kBlobs(b *testing.B) {
	repo, tip := benchRepo(b, 10_000, 5, 64)
	pols := benchPolicies(b, `version = 1
[[policy]]
name = "all"
branches = ["**"]
commit_message = '^(feat|fix|docs|chore): '
author_email = '@example\.com$'
committer_email = '@example\.com$'
signed_off = true
file_names_deny = ['(^|/)\.env$', '\.(exe|dll)$']
max_file_size = "1M"
max_path_length = 200
`)
	push := Push{Updates: []match.RefUpdate{{Old: strings.Repeat("0", 40), New: tip, Name: "refs/heads/main"}}}
	git := &Repo{GitDir: repo}
	// "split" is what hookrun does; "one-diff-tree" the same with a single
	// diff-tree process, for the ratio.
	for _, v := range []struct {
		name  string
		split int
	}{{"split", changesSplit}, {"one-diff-tree", math.MaxInt}} {
		b.Run(v.name, func(b *testing.B) {
			defer func(old int) { changesSplit = old }(changesSplit)
			changesSplit = v.split
			for b.Loop() {
				res, err := Evaluate(context.Background(), pols, push, git)
				if err != nil {
					b.Fatal(err)
				}
				if res.Commits != 10_000 || !res.OK() {
					b.Fatalf("%d commits, violations %v", res.Commits, res.Violations)
				}
			}
		})
	}
}

// fullPolicies is every check that reads objects except signatures (they
// need a keyring): two policies, one on branches and one on every ref.
const fullPolicies = `version = 1
[[policy]]
name = "all"
branches = ["**"]
commit_message = '^(feat|fix|docs|chore): '
author_email = '@example\.com$'
committer_email = '@example\.com$'
signed_off = true
linear = true
file_names_deny = ['(^|/)\.env$', '\.(exe|dll)$']
max_file_size = "1M"
max_path_length = 200

[[policy]]
name = "secrets"
refs = ["refs/**"]
secrets = true
`

// BenchmarkPolicyVsGit times, in each iteration one after the other, the
// full policy set over a push of 10,000 new commits and 50,000 new blobs
// and the bare git commands that read the same objects, run one after
// another: git rev-list --objects | git cat-file --batch-check, git log of
// every commit's message and identities, and git rev-list | git diff-tree
// --stdin. It reports both times per push and their ratio.
func BenchmarkPolicyVsGit(b *testing.B) {
	repo, tip := benchRepo(b, 10_000, 5, 64)
	pols := benchPolicies(b, fullPolicies)
	push := Push{Updates: []match.RefUpdate{{Old: strings.Repeat("0", 40), New: tip, Name: "refs/heads/main"}}}
	git := &Repo{GitDir: repo}
	var policy, bare time.Duration
	for b.Loop() {
		t0 := time.Now()
		res, err := Evaluate(context.Background(), pols, push, git)
		if err != nil {
			b.Fatal(err)
		}
		if res.Commits != 10_000 || !res.OK() {
			b.Fatalf("%d commits, violations %v", res.Commits, res.Violations)
		}
		t1 := time.Now()
		bareGit(b, repo, tip)
		policy += t1.Sub(t0)
		bare += time.Since(t1)
	}
	b.ReportMetric(policy.Seconds()/float64(b.N), "s-policy/push")
	b.ReportMetric(bare.Seconds()/float64(b.N), "s-git/push")
	b.ReportMetric(float64(policy)/float64(bare), "policy/git")
}

// bareGit runs the git commands that read what the policies read.
func bareGit(b *testing.B, repo, tip string) {
	git := func(args ...string) *exec.Cmd {
		return exec.Command("git", append([]string{"--git-dir", repo}, args...)...)
	}
	pipe := func(from, to *exec.Cmd) {
		out, err := from.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		to.Stdin = out
		if err := from.Start(); err != nil {
			b.Fatal(err)
		}
		if err := to.Run(); err != nil {
			b.Fatalf("%v: %v", to.Args, err)
		}
		if err := from.Wait(); err != nil {
			b.Fatalf("%v: %v", from.Args, err)
		}
	}
	pipe(git("rev-list", "--objects", tip), git("cat-file", "--batch-check"))
	if err := git("log", "--format=%H %P%n%an <%ae>%n%cn <%ce>%n%B", tip).Run(); err != nil {
		b.Fatal(err)
	}
	pipe(git("rev-list", tip), git("diff-tree", "--stdin", "-r", "-z", "--root", "--no-renames"))
}

// BenchmarkSecrets100MB scans 100 MB of new blob data (100 commits of
// 10 files of 100 KB) for secrets, reading it with one cat-file --batch;
// b.SetBytes makes the result MB/s.
func BenchmarkSecrets100MB(b *testing.B) {
	const commits, files, size = 100, 10, 100 << 10
	repo, tip := benchRepo(b, commits, files, size)
	pols := benchPolicies(b, "version = 1\n[[policy]]\nname = \"s\"\nbranches = [\"**\"]\nsecrets = true\n")
	push := Push{Updates: []match.RefUpdate{{Old: strings.Repeat("0", 40), New: tip, Name: "refs/heads/main"}}}
	git := &Repo{GitDir: repo}
	b.SetBytes(commits * files * size)
	b.ResetTimer()
	for b.Loop() {
		res, err := Evaluate(context.Background(), pols, push, git)
		if err != nil || !res.OK() {
			b.Fatal(err, res.Violations)
		}
	}
}

// BenchmarkScanSecrets is the scanner alone over 100 KB of text, in MB/s.
func BenchmarkScanSecrets(b *testing.B) {
	data := []byte(strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit\n", 100<<10/57))
	b.SetBytes(int64(len(data)))
	c := secrets.Default()
	for b.Loop() {
		err := c.Scan(bytes.NewReader(data), "lorem.txt", "", func(f secrets.Finding) { b.Fatal("found a secret in lorem ipsum: ", f) })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoPolicyApplies is Evaluate for a push no policy applies to:
// no git call at all.
func BenchmarkNoPolicyApplies(b *testing.B) {
	pols := benchPolicies(b, "version = 1\n[[policy]]\nname = \"m\"\nbranches = [\"main\"]\ndeny = [\"force\"]\nsecrets = true\n")
	push := Push{Updates: []match.RefUpdate{{Old: strings.Repeat("1", 40), New: strings.Repeat("2", 40), Name: "refs/heads/feature"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Evaluate(context.Background(), pols, push, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPush10kSecrets is BenchmarkPush10kCommits50kBlobs's push with
// secrets = true as well: every one of the 50,000 new blobs is read and
// scanned with gitleaks' rules.
func BenchmarkPush10kSecrets(b *testing.B) {
	repo, tip := benchRepo(b, 10_000, 5, 64)
	pols := benchPolicies(b, `version = 1
[[policy]]
name = "all"
branches = ["**"]
commit_message = '^(feat|fix|docs|chore): '
author_email = '@example\.com$'
committer_email = '@example\.com$'
signed_off = true
file_names_deny = ['(^|/)\.env$', '\.(exe|dll)$']
max_file_size = "1M"
max_path_length = 200
secrets = true
`)
	push := Push{Updates: []match.RefUpdate{{Old: strings.Repeat("0", 40), New: tip, Name: "refs/heads/main"}}}
	git := &Repo{GitDir: repo}
	for b.Loop() {
		res, err := Evaluate(context.Background(), pols, push, git)
		if err != nil {
			b.Fatal(err)
		}
		if res.Commits != 10_000 || !res.OK() {
			b.Fatalf("%d commits, violations %v", res.Commits, res.Violations)
		}
	}
}
