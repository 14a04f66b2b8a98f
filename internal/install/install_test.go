package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func bareRepo(t *testing.T) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "r.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", repo).CombinedOutput(); err != nil {
		t.Skipf("git init: %v %s", err, out)
	}
	return repo
}

func TestScriptTarget(t *testing.T) {
	for _, self := range []string{"/usr/local/bin/hookrun", "/opt/it's here/hookrun", `/a"b$c/hookrun`} {
		for _, h := range Hooks {
			for _, chain := range []bool{false, true} {
				if got := ScriptTarget(Script(h, self, chain)); got != self {
					t.Errorf("ScriptTarget(Script(%s, %q, %v)) = %q", h, self, chain, got)
				}
			}
		}
	}
	if got := ScriptTarget([]byte("#!/bin/sh\nhookrun='/x/hookrun'\n")); got != "" {
		t.Errorf("a script hookrun did not write: ScriptTarget = %q, want \"\"", got)
	}
}

// A hook in the way of either hook installs neither.
func TestInstallAllOrNothing(t *testing.T) {
	for _, inTheWay := range Hooks {
		repo := bareRepo(t)
		own := filepath.Join(repo, "hooks", inTheWay)
		if err := os.WriteFile(own, []byte("#!/bin/sh\necho own\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Install(repo, "/usr/local/bin/hookrun", Keep)
		if err == nil || !strings.Contains(err.Error(), "nothing was installed") {
			t.Fatalf("%s in the way: Install error = %v, want nothing was installed", inTheWay, err)
		}
		for _, h := range Hooks {
			if h == inTheWay {
				continue
			}
			if _, err := os.Lstat(filepath.Join(repo, "hooks", h)); err == nil {
				t.Errorf("%s in the way: %s was installed", inTheWay, h)
			}
		}
		if st := Inspect(repo); st[0].Path != "" || st[1].Path != "" {
			t.Errorf("%s in the way: Inspect = %+v, want nothing installed", inTheWay, st)
		}
	}
}

// A write that fails half way leaves the repository as it was.
func TestInstallRollsBack(t *testing.T) {
	repo := bareRepo(t)
	// a directory where pre-receive's temporary file goes: its write fails
	if err := os.MkdirAll(filepath.Join(repo, "hooks", "pre-receive.hookrun-tmp", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(repo, "/usr/local/bin/hookrun", Keep); err == nil {
		t.Fatal("Install succeeded")
	}
	if _, err := os.Lstat(filepath.Join(repo, "hooks", "post-receive")); err == nil {
		t.Error("post-receive is left installed after pre-receive failed")
	}
}

// A failure after one hook was updated puts the old one back.
func TestInstallRollsBackAnUpdate(t *testing.T) {
	repo := bareRepo(t)
	if _, err := Install(repo, "/old/hookrun", Keep); err != nil {
		t.Fatal(err)
	}
	// a successful update leaves nothing behind
	if res, err := Install(repo, "/older/hookrun", Keep); err != nil || res[0].Action != "updated" {
		t.Fatalf("Install over another hookrun = %+v, %v; want updated", res, err)
	}
	if _, err := os.Lstat(filepath.Join(repo, "hooks", "post-receive.hookrun-prev")); err == nil {
		t.Error("post-receive.hookrun-prev left behind by a successful update")
	}
	old, _ := os.ReadFile(filepath.Join(repo, "hooks", "post-receive"))
	if err := os.MkdirAll(filepath.Join(repo, "hooks", "pre-receive.hookrun-tmp", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(repo, "/new/hookrun", Keep); err == nil {
		t.Fatal("Install succeeded")
	}
	if now, _ := os.ReadFile(filepath.Join(repo, "hooks", "post-receive")); string(now) != string(old) {
		t.Errorf("post-receive after a failed update:\n%s\nwant the old one:\n%s", now, old)
	}
	if _, err := os.Lstat(filepath.Join(repo, "hooks", "post-receive.hookrun-prev")); err == nil {
		t.Error("post-receive.hookrun-prev left behind")
	}
}

// A hookrun whose path fits a "#!" line is the hook's interpreter (no
// shell on a push); one that does not gets the /bin/sh script.
func TestScriptForm(t *testing.T) {
	for _, tc := range []struct {
		self, first string
	}{
		{"/usr/local/bin/hookrun", "#!/usr/local/bin/hookrun"},
		{"/opt/it's here/hookrun", "#!/bin/sh"},
		{"/" + strings.Repeat("x", 300) + "/hookrun", "#!/bin/sh"},
	} {
		for _, h := range Hooks {
			first, _, _ := strings.Cut(string(Script(h, tc.self, true)), "\n")
			if first != tc.first {
				t.Errorf("Script(%s, %q): first line %q, want %q", h, tc.self, first, tc.first)
			}
		}
	}
}
