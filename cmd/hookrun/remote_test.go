package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hookrun/hookrun/internal/hosttest"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/systemdtest"
)

// TestRemoteScripts runs the scripts in testdata/remote/* against a second
// host on this machine (hosttest: another user with its own user manager,
// behind a real sshd), one host per directory: scripts that stop the host's
// sshd or drop its sessions have a directory of their own. The global
// config names the host [hosts.builder]; it runs this test binary as its
// hookrun. $REMOTE_OUT is a directory the host's jobs may write,
// $REMOTE_USER the host's account (one per directory: hosttest.Start) and
// $REMOTE_HOME its home, where the mirrors are: scripts of one directory
// run at once on one host, so each pushes a repository of its own name.
func TestRemoteScripts(t *testing.T) {
	for _, dir := range []string{"push", "lost", "drop", "manager"} {
		t.Run(dir, func(t *testing.T) { runRemoteScripts(t, filepath.Join("testdata/remote", dir)) })
	}
}

// runRemoteScripts runs the scripts in dir against one second host.
// Commands: remote-systemctl ARGS (systemctl --user on the host, as its
// user), remote-sshd-stop (the host becomes unreachable), remote-drop-ssh
// (every ssh session to it is cut, as a network failure would).
func runRemoteScripts(t *testing.T, dir string) {
	h := hosttest.Start(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	shared, err := os.MkdirTemp("", "hookrun-remote-script-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shared) })
	bin := filepath.Join(shared, "bin")
	out := filepath.Join(shared, "out")
	for _, d := range []string{shared, bin, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(out, h.Account.UID, h.Account.GID); err != nil {
		t.Fatal(err)
	}
	remoteHookrun := filepath.Join(bin, "hookrun")
	if err := copyFile(self, remoteHookrun); err != nil {
		t.Fatal(err)
	}
	// The host also lets in a second key, only through the forced command
	// docs/remote-hosts.md sets up: [hosts.gated] uses that key.
	gateKey, err := h.SSH.AuthorizeForced(h.Account.Name, remote.GateOptions(remoteHookrun, h.RuntimeDir))
	if err != nil {
		t.Fatal(err)
	}
	gatedOpts := slices.Clone(h.Options())
	gatedOpts[slices.Index(gatedOpts, "-i")+1] = gateKey
	quoted := func(opts []string) string {
		var q []string
		for _, o := range opts {
			q = append(q, strconv.Quote(o))
		}
		return strings.Join(q, ", ")
	}
	global := fmt.Sprintf("version = 1\n[hosts.builder]\nssh = %q\nssh_options = [%s]\nruntime_dir = %q\nhookrun = %q\nlost_contact = \"6s\"\n",
		h.Dest, quoted(h.Options()), h.RuntimeDir, remoteHookrun)
	global += fmt.Sprintf("[hosts.gated]\nssh = %q\nssh_options = [%s]\nruntime_dir = %q\nhookrun = %q\n",
		h.Dest, quoted(gatedOpts), h.RuntimeDir, remoteHookrun)

	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *updateScripts,
		Setup: func(env *testscript.Env) error {
			if err := scriptEnv(env, global); err != nil {
				return err
			}
			dir, err := os.MkdirTemp(out, "script-")
			if err != nil {
				return err
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				return err
			}
			env.Setenv("REMOTE_OUT", dir)
			env.Setenv("REMOTE_USER", h.Account.Name)
			env.Setenv("REMOTE_HOME", h.Account.Home)
			// A failed script shows its units' logs here and on the host.
			work := env.WorkDir
			env.Defer(func() {
				if f, ok := env.T().(interface{ Failed() bool }); !ok || !f.Failed() {
					return
				}
				logs, _ := filepath.Glob(filepath.Join(work, "*.git", "hookrun", "logs", "*.log"))
				there, _ := filepath.Glob(filepath.Join(h.Account.Home, remote.MirrorsDir, "*.git", "hookrun", "logs", "*.log"))
				for _, f := range append(logs, there...) {
					b, _ := os.ReadFile(f)
					env.T().Log(fmt.Sprintf("%s:\n%s", f, b))
				}
			})
			return nil
		},
		Cmds: withWaitCmds(map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"systemd-manager": cmdSystemdManager,
			"ntfy-listen":     cmdNtfyListen,
			"ntfy-wait":       cmdNtfyWait,
			"remote-systemctl": func(ts *testscript.TestScript, neg bool, args []string) {
				out, err := h.Output(append([]string{"systemctl", "--user"}, args...)...)
				if err != nil && !neg {
					ts.Fatalf("remote systemctl: %v", err)
				}
				fmt.Fprint(ts.Stdout(), out)
			},
			"remote-gated": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) > 1 {
					ts.Fatalf("usage: remote-gated [LINE] (one argument: the command line ssh sends)")
				}
				argv := append(append(slices.Clone(gatedOpts), "-o", "BatchMode=yes", "-T", "--", h.Dest), args...)
				cmd := exec.Command("ssh", argv...)
				cmd.Stdout, cmd.Stderr = ts.Stdout(), ts.Stderr()
				if err := cmd.Run(); (err != nil) != neg {
					ts.Fatalf("ssh through the gate: %v (want failure: %v)", err, neg)
				}
			},
			"remote-sshd-stop": func(ts *testscript.TestScript, neg bool, args []string) { h.SSH.Stop() },
			"remote-drop-ssh": func(ts *testscript.TestScript, neg bool, args []string) {
				h.SSH.DropSessions()
			},
		}),
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "systemd":
				return systemdtest.Required() || os.Getuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// TestGateDocumented: the authorized_keys line docs/remote-hosts.md tells
// operators to write has exactly the options the gate scripts run with.
func TestGateDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/remote-hosts.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		remote.GateOptions("/usr/local/bin/hookrun", "") + " ssh-ed25519 ",
		remote.GateOptions("/usr/local/bin/hookrun", "/run/user/1001") + " ssh-ed25519 ",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/remote-hosts.md does not show the authorized_keys line %q", want)
		}
	}
}
