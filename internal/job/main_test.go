package job

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as the programs the tests run (busybox style):
// TestMain links it into binDir under these names and, when started under
// one of them, behaves as that program instead of running tests.
//
//	recorder  records its argv, environment and working directory as JSON
//	          in $HOOKRUN_TEST_RECORD, prints "recorder: ARGS" to stdout,
//	          sleeps $HOOKRUN_TEST_SLEEP and exits $HOOKRUN_TEST_EXIT.
//	gitmal    a stand-in for gitmal: records like recorder, then writes
//	          index.html ($HOOKRUN_TEST_CONTENT) and the comma-separated
//	          $HOOKRUN_TEST_FILES into its --output; with a non-zero
//	          $HOOKRUN_TEST_EXIT it writes one page and fails, like a
//	          gitmal that dies half-way.
var binDir string

func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "recorder":
		os.Exit(fakeMain(false))
	case "gitmal":
		os.Exit(fakeMain(true))
	}
	dir, err := os.MkdirTemp("", "hookrun-job-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exe, err := os.Executable()
	if err == nil {
		for _, name := range []string{"recorder", "gitmal"} {
			if err = os.Symlink(exe, filepath.Join(dir, name)); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// record is what a fake program saw.
type record struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	// gitmal only: whether --output existed and was empty when it started.
	OutputEmpty bool `json:"output_empty"`
}

func fakeMain(gitmal bool) int {
	wd, _ := os.Getwd()
	rec := record{Args: os.Args, Env: os.Environ(), Dir: wd}
	out := ""
	if gitmal {
		for i, a := range os.Args {
			if a == "--output" && i+1 < len(os.Args) {
				out = os.Args[i+1]
			} else if v, ok := strings.CutPrefix(a, "--output="); ok {
				out = v
			}
		}
		if out == "" {
			out = "output"
		}
		entries, err := os.ReadDir(out)
		rec.OutputEmpty = err == nil && len(entries) == 0
	}
	if p := os.Getenv("HOOKRUN_TEST_RECORD"); p != "" {
		b, _ := json.Marshal(rec)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 99
		}
	}
	fmt.Printf("%s: %s\n", filepath.Base(os.Args[0]), strings.Join(os.Args[1:], " "))
	if d, err := time.ParseDuration(os.Getenv("HOOKRUN_TEST_SLEEP")); err == nil {
		time.Sleep(d)
	}
	code, _ := strconv.Atoi(os.Getenv("HOOKRUN_TEST_EXIT"))
	if gitmal {
		if err := os.MkdirAll(out, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 98
		}
		write := func(name, content string) {
			p := filepath.Join(out, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(97)
			}
		}
		write("index.html", os.Getenv("HOOKRUN_TEST_CONTENT"))
		if code != 0 {
			fmt.Fprintln(os.Stderr, "gitmal: dying half-way")
			return code
		}
		for _, f := range strings.Split(os.Getenv("HOOKRUN_TEST_FILES"), ",") {
			if f != "" {
				write(f, f)
			}
		}
	}
	return code
}

// readRecord reads what a fake program recorded at path.
func readRecord(t *testing.T, path string) record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the program did not run (no record): %v", err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// testPath is a PATH with the fake programs first.
func testPath() string { return "PATH=" + binDir + ":/usr/local/bin:/usr/bin:/bin" }

// git runs git in dir with a clean, fixed identity and fails the test on
// error. It returns the trimmed standard output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Environ(os.Environ(), []string{
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	}, nil)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// sourceRepo is a bare repository with a work tree clone pushing into it.
type sourceRepo struct {
	bare, work string
}

func newSourceRepo(t *testing.T) *sourceRepo {
	t.Helper()
	dir := t.TempDir()
	r := &sourceRepo{bare: filepath.Join(dir, "repo.git"), work: filepath.Join(dir, "work")}
	git(t, dir, "init", "-q", "--bare", "-b", "main", r.bare)
	git(t, dir, "init", "-q", "-b", "main", r.work)
	git(t, r.work, "remote", "add", "origin", r.bare)
	return r
}

// commit writes files (name -> content; "" removes) in the work tree,
// commits, pushes main and returns the new commit.
func (r *sourceRepo) commit(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, name)
		if content == "" {
			git(t, r.work, "rm", "-q", name)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, r.work, "add", name)
	}
	git(t, r.work, "commit", "-q", "-m", msg)
	git(t, r.work, "push", "-q", "origin", "main")
	return git(t, r.work, "rev-parse", "HEAD")
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
