package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hookrun/hookrun/internal/peertest"
	"github.com/hookrun/hookrun/internal/skiptest"
	"github.com/hookrun/hookrun/internal/waittest"
)

// giteaEnv names the real Gitea binary (../shared/peers/README.md).
const giteaEnv = "HOOKRUN_TEST_GITEA"

// giteaCondition answers [gitea]: true when $HOOKRUN_TEST_GITEA names an
// executable; under HOOKRUN_REQUIRE_PEERS=1 a missing one fails the script.
func giteaCondition() (bool, error) {
	p := os.Getenv(giteaEnv)
	if fi, err := os.Stat(p); p != "" && err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0 {
		return true, nil
	}
	return false, skiptest.Forbidden("no Gitea: set "+giteaEnv, peertest.RequireEnv)
}

// gitea-serve starts a real Gitea in $WORK/gitea, with the script's
// environment (its hooks run hookrun as the script would), an admin user
// alice (email alice@example.com) and her repository alice/demo, made with
// a first commit on main. It sets GITEA_URL (with alice's credentials),
// GITEA_API (the same without them), GITEA_REPOS (the repositories' root
// on disk) and GITEA_TOKEN_FILE (a file holding an access token of
// alice's, mode 0600). The server stops when the script ends.
func cmdGiteaServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: gitea-serve")
	}
	bin, err := filepath.Abs(os.Getenv(giteaEnv))
	ts.Check(err)
	dir := ts.MkAbs("gitea")
	ts.Check(os.MkdirAll(dir, 0o755))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	ini := filepath.Join(dir, "app.ini")
	ts.Check(os.WriteFile(ini, []byte(fmt.Sprintf(`I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true
WORK_PATH = %[1]s
[server]
STATIC_ROOT_PATH = %[2]s
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[3]d
ROOT_URL = %[4]s
DISABLE_SSH = true
OFFLINE_MODE = true
[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db
[repository]
ROOT = %[1]s/repos
DEFAULT_BRANCH = main
[security]
INSTALL_LOCK = true
SECRET_KEY = hookrun-test-secret-key-0123456789abcdef
[log]
MODE = file
ROOT_PATH = %[1]s/log
`, dir, filepath.Dir(bin), port, root)), 0o644))
	env := os.Environ()
	for _, k := range []string{"HOME", "PATH", "HOOKRUN_CONFIG", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "GIT_CONFIG_NOSYSTEM", "GNUPGHOME"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	env = append(env, "GITEA_WORK_DIR="+dir)
	run := func(args ...string) {
		cmd := exec.Command(bin, append([]string{"--config", ini}, args...)...)
		cmd.Env, cmd.Dir = env, dir
		if out, err := cmd.CombinedOutput(); err != nil {
			ts.Fatalf("gitea %s: %v\n%s", args[0], err, out)
		}
	}
	run("migrate")
	run("admin", "user", "create", "--username", "alice", "--password", "alice-password-1", "--email", "alice@example.com",
		"--admin", "--must-change-password=false")
	tok := exec.Command(bin, "--config", ini, "admin", "user", "generate-access-token", "--username", "alice", "--token-name", "hookrun", "--scopes", "all", "--raw")
	tok.Env, tok.Dir = env, dir
	token, err := tok.Output()
	if err != nil {
		ts.Fatalf("gitea admin user generate-access-token: %v", err)
	}
	// The token is the last line (gitea may log before it).
	lines := bytes.Fields(token)
	if len(lines) == 0 {
		ts.Fatalf("gitea admin user generate-access-token printed no token")
	}
	tokenFile := filepath.Join(dir, "alice.token")
	ts.Check(os.WriteFile(tokenFile, lines[len(lines)-1], 0o600))
	logf, err := os.Create(filepath.Join(dir, "web.log"))
	ts.Check(err)
	web := exec.Command(bin, "--config", ini, "web")
	web.Env, web.Dir, web.Stdout, web.Stderr = env, dir, logf, logf
	web.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	ts.Check(web.Start())
	done := make(chan struct{})
	go func() { web.Wait(); logf.Close(); close(done) }()
	ts.Defer(func() {
		_ = syscall.Kill(-web.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-web.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	// Ready when the API answers (about 10 s under load).
	waittest.Until(ts, 90*time.Second, "gitea web to answer "+root+"api/v1/version", func() (bool, string) {
		resp, err := http.Get(root + "api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true, ""
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "web.log"))
			ts.Fatalf("gitea web exited before it answered:\n%s", log)
		default:
		}
		if err != nil {
			return false, err.Error()
		}
		return false, resp.Status
	})
	req, err := http.NewRequest("POST", root+"api/v1/user/repos", bytes.NewBufferString(`{"name":"demo","auto_init":true,"default_branch":"main"}`))
	ts.Check(err)
	req.SetBasicAuth("alice", "alice-password-1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		ts.Fatalf("creating alice/demo: %s", resp.Status)
	}
	ts.Setenv("GITEA_URL", "http://alice:alice-password-1@127.0.0.1:"+strconv.Itoa(port))
	ts.Setenv("GITEA_REPOS", filepath.Join(dir, "repos"))
	ts.Setenv("GITEA_API", "http://127.0.0.1:"+strconv.Itoa(port))
	ts.Setenv("GITEA_TOKEN_FILE", tokenFile)
}
