package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLocate(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tt := range []struct {
		name string
		o    Options
		want Source
	}{
		{"defaults", Options{RepoPath: "/srv/r.git"}, Source{Global: DefaultGlobalPath, Repo: "/srv/r.git/hooks.toml"}},
		{"nil getenv", Options{}, Source{Global: DefaultGlobalPath}},
		{"--config", Options{GlobalFlag: "/g.toml", RepoPath: "/r"}, Source{Global: "/g.toml", GlobalExplicit: true, Repo: "/r/hooks.toml"}},
		{"$HOOKRUN_CONFIG", Options{Getenv: env("HOOKRUN_CONFIG", "/e.toml")}, Source{Global: "/e.toml", GlobalExplicit: true}},
		{"--config over $HOOKRUN_CONFIG", Options{GlobalFlag: "/g.toml", Getenv: env("HOOKRUN_CONFIG", "/e.toml")}, Source{Global: "/g.toml", GlobalExplicit: true}},
		{"--file", Options{RepoPath: "/r", RepoFile: "x.toml"}, Source{Global: DefaultGlobalPath, Repo: "x.toml", RepoExplicit: true}},
		{"--insecure-config", Options{Insecure: true}, Source{Global: DefaultGlobalPath, Insecure: true}},
		{"HOOKRUN_INSECURE_CONFIG=1", Options{Getenv: env(InsecureEnv, "1")}, Source{Global: DefaultGlobalPath, Insecure: true}},
		{"HOOKRUN_INSECURE_CONFIG=yes is not 1", Options{Getenv: env(InsecureEnv, "yes")}, Source{Global: DefaultGlobalPath}},
	} {
		if got := Locate(tt.o); got != tt.want {
			t.Errorf("%s: Locate = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSourceCheckAndLoad(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "hooks.toml")
	if err := os.WriteFile(repo, []byte("[[policy]]\nname = \"p\"\n[[nonsense\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Locate(Options{GlobalFlag: filepath.Join(dir, "none.toml"), RepoPath: dir})
	if !s.MayHavePolicies() {
		t.Error("a broken file holding [[policy]]: MayHavePolicies is false, want true (fail closed)")
	}
	if _, _, err := s.Load(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a named global file that is missing: Load error %v, want not exist", err)
	}
	s.Global, s.GlobalExplicit = "", false
	if c, diags, err := s.Load(); err != nil || c != nil || !diags.HasErrors() {
		t.Errorf("a broken file: Load = %v, %v, %v; want no config and its errors", c, diags, err)
	}
	if c, _, err := s.LoadMerged(); err != nil || c == nil {
		t.Errorf("a broken file: LoadMerged = %v, %v; want the merged rest", c, err)
	}
	named := Locate(Options{RepoFile: filepath.Join(dir, "missing.toml")})
	named.Global = ""
	if _, _, err := named.Load(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a --file that is missing: Load error %v, want not exist", err)
	}

	if err := os.Chmod(repo, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(); !errors.Is(err, ErrUnsafeFile) {
		t.Errorf("a file others can write: Check error %v, want ErrUnsafeFile", err)
	}
	s.Insecure = true
	if acc, err := s.Check(); err != nil || len(acc) != 1 {
		t.Errorf("insecure: Check = %v, %v; want it accepted, and said", acc, err)
	}
	if got := s.Files(); !slices.Equal(got, []string{repo}) {
		t.Errorf("Files = %q", got)
	}
}
