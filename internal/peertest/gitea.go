package peertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// GiteaEnv names the Gitea binary (its options/, templates/ and public/
// beside it, as in ../shared/peers/gitea).
const GiteaEnv = "HOOKRUN_TEST_GITEA"

// Gitea's timeouts: it takes about 10 s to answer under load.
const (
	giteaStartTimeout = 90 * time.Second
	giteaStopTimeout  = 15 * time.Second
	giteaCmdTimeout   = 60 * time.Second
)

// Gitea's admin user that StartGitea creates.
const (
	GiteaUser     = "hookrun"
	GiteaPassword = "hookrun-test-password-1"
)

// FindGitea returns the gitea binary: $HOOKRUN_TEST_GITEA, else gitea on PATH.
func FindGitea() (string, error) { return find("gitea", GiteaEnv) }

// GiteaBinary returns the gitea binary, or skips t (fails it under
// HOOKRUN_REQUIRE_PEERS=1).
func GiteaBinary(t testing.TB) string {
	t.Helper()
	p, err := FindGitea()
	if err != nil {
		Missing(t, err)
	}
	return p
}

// Gitea is a running Gitea server on 127.0.0.1 with sqlite, no SSH, and an
// admin user (GiteaUser) with an access token of every scope.
type Gitea struct {
	URL   string // "http://127.0.0.1:PORT" (no final slash)
	Token string // GiteaUser's token
	PID   int
	Dir   string // work dir: app.ini, database, repositories, log

	bin, config string
	cmd         *exec.Cmd
	done        chan struct{}
	client      *http.Client
}

// NewGitea starts Gitea for t and stops it when t ends; it skips t when
// there is no gitea binary (fails it under HOOKRUN_REQUIRE_PEERS=1).
func NewGitea(t testing.TB) *Gitea {
	t.Helper()
	bin := GiteaBinary(t)
	g, err := StartGitea(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gitea log (%s):\n%s", g.Dir, g.Log())
		}
		if err := g.Stop(); err != nil {
			t.Error(err)
		}
	})
	return g
}

// StartGitea sets up and starts bin as described in
// ../shared/peers/README.md ("Gitea, as observed"). The caller must Stop it.
func StartGitea(bin string) (*Gitea, error) {
	var lastErr error
	for range 3 { // the free port may be taken before Gitea binds it
		g, err := startGitea(bin)
		if err == nil {
			return g, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func startGitea(bin string) (*Gitea, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hookrun-gitea-")
	if err != nil {
		return nil, err
	}
	g := &Gitea{URL: "http://127.0.0.1:" + strconv.Itoa(port), Dir: dir, bin: bin,
		config: filepath.Join(dir, "app.ini"), done: make(chan struct{}), client: &http.Client{Timeout: 30 * time.Second}}
	ini := fmt.Sprintf(`I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true
WORK_PATH = %[1]s
[server]
STATIC_ROOT_PATH = %[2]s
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[3]d
ROOT_URL = %[4]s/
DISABLE_SSH = true
OFFLINE_MODE = true
[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db
[repository]
ROOT = %[1]s/repos
[security]
INSTALL_LOCK = true
SECRET_KEY = hookrun-test-secret-key-0123456789abcdef
[log]
MODE = file
ROOT_PATH = %[1]s/log
[cron]
ENABLED = false
`, dir, filepath.Dir(bin), port, g.URL)
	if err := os.WriteFile(g.config, []byte(ini), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for _, args := range [][]string{
		{"migrate"},
		{"admin", "user", "create", "--username", GiteaUser, "--password", GiteaPassword, "--email", "hookrun@example.com", "--admin", "--must-change-password=false"},
	} {
		if _, err := g.admin(args...); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	tok, err := g.admin("admin", "user", "generate-access-token", "--username", GiteaUser, "--token-name", "hookrun", "--scopes", "all", "--raw")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// --raw prints the token (40 hex digits) on its own line; Gitea may
	// log around it.
	for _, f := range strings.Fields(tok) {
		if len(f) == 40 && strings.Trim(f, "0123456789abcdef") == "" {
			g.Token = f
		}
	}
	if g.Token == "" {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("gitea admin user generate-access-token printed no token: %q", tok)
	}

	logf, err := os.Create(filepath.Join(dir, "gitea.out"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	g.cmd = exec.Command(bin, "--config", g.config, "web")
	g.cmd.Dir = dir
	g.cmd.Env = g.env()
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start gitea: %w", err)
	}
	g.PID = g.cmd.Process.Pid
	go func() { g.cmd.Wait(); close(g.done) }()
	if err := g.waitReady(); err != nil {
		g.Stop()
		return nil, err
	}
	return g, nil
}

// env is the environment of Gitea and its admin commands: no GITEA_* or
// GIT_* of the caller.
func (g *Gitea) env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + g.Dir, "GITEA_WORK_DIR=" + g.Dir, "USER=root"}
}

func (g *Gitea) admin(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), giteaCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, append([]string{"--config", g.config}, args...)...)
	cmd.Dir = g.Dir
	cmd.Env = g.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gitea %s: %v: %s", strings.Join(args[:min(2, len(args))], " "), err, strings.TrimSpace(errb.String()+out.String()))
	}
	return out.String(), nil
}

func (g *Gitea) waitReady() error {
	deadline := time.Now().Add(giteaStartTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		// Ready when it takes the token: a test's first call is
		// authenticated (a 401 from a Gitea that answered its version
		// already was seen once in CI).
		var resp *http.Response
		req, err := http.NewRequest(http.MethodGet, g.URL+"/api/v1/user", nil)
		if err == nil {
			req.Header.Set("Authorization", "token "+g.Token)
			resp, err = g.client.Do(req)
		}
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /api/v1/user: %s", resp.Status)
		}
		select {
		case <-g.done:
			return fmt.Errorf("gitea web exited before answering %s/api/v1/user: %s", g.URL, g.Log())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gitea at %s not ready after %v (last error: %v); log:\n%s", g.URL, giteaStartTimeout, err, g.Log())
		}
	}
}

// Log returns what Gitea wrote to its stdout/stderr and its log file.
func (g *Gitea) Log() string {
	a, _ := os.ReadFile(filepath.Join(g.Dir, "gitea.out"))
	b, _ := os.ReadFile(filepath.Join(g.Dir, "log", "gitea.log"))
	s := string(a) + string(b)
	if len(s) > 8000 {
		s = "..." + s[len(s)-8000:]
	}
	return s
}

// API calls Gitea's API as GiteaUser: method on path ("/api/v1/..."),
// with in encoded as JSON when not nil, decoding the answer into out when
// not nil. Any status other than 2xx is an error with the body.
func (g *Gitea) API(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+g.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("gitea %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// CreateRepo creates GiteaUser's repository name with an initial commit
// on main and returns that commit's id.
func (g *Gitea) CreateRepo(name string) (string, error) {
	if err := g.API("POST", "/api/v1/user/repos", map[string]any{"name": name, "auto_init": true, "default_branch": "main"}, nil); err != nil {
		return "", err
	}
	var br struct {
		Commit struct {
			ID string `json:"id"`
		} `json:"commit"`
	}
	if err := g.API("GET", "/api/v1/repos/"+GiteaUser+"/"+name+"/branches/main", nil, &br); err != nil {
		return "", err
	}
	return br.Commit.ID, nil
}

// Stop stops the server (SIGTERM, then SIGKILL) and removes its directory.
func (g *Gitea) Stop() error {
	var err error
	if g.cmd != nil && g.cmd.Process != nil {
		select {
		case <-g.done:
		default:
			syscall.Kill(g.PID, syscall.SIGTERM)
			select {
			case <-g.done:
			case <-time.After(giteaStopTimeout):
				syscall.Kill(g.PID, syscall.SIGKILL)
				<-g.done
				err = fmt.Errorf("gitea (pid %d) ignored SIGTERM for %v: killed", g.PID, giteaStopTimeout)
			}
		}
	}
	if rmErr := os.RemoveAll(g.Dir); err == nil {
		err = rmErr
	}
	return err
}
