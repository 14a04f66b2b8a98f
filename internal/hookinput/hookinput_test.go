package hookinput

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/config"
)

const zero = "0000000000000000000000000000000000000000"
const sha = "1111111111111111111111111111111111111111"

func TestRead(t *testing.T) {
	valid := "version = 1\n[jobs.site]\ntype = \"command\"\ncommand = [\"true\"]\n[[rules]]\nbranches = [\"main\"]\njobs = [\"site\"]\n"
	for _, tc := range []struct {
		name, stdin, config string
		ignore              bool
		wantErr             error // nil: no error
		wantNil             bool  // Read returns no input
		wantLog             string
	}{
		{name: "a push", stdin: zero + " " + sha + " refs/heads/main\n", config: valid},
		{name: "malformed input", stdin: "not a ref line\n", config: valid, wantErr: ErrReported, wantNil: true, wantLog: "malformed hook input"},
		{name: "invalid config", stdin: zero + " " + sha + " refs/heads/main\n", config: "version = 1\nnope = 1\n", wantErr: ErrReported, wantLog: "fix the config"},
		{name: "invalid config, the other hook's", stdin: zero + " " + sha + " refs/heads/main\n", config: "version = 1\nnope = 1\n", ignore: true, wantNil: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			if err := os.WriteFile(filepath.Join(repo, config.RepoFileName), []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			o := Options{RepoPath: repo, Stdin: strings.NewReader(tc.stdin), Log: &log, Hook: "post-receive", Consequence: "nothing was started",
				Source: config.Locate(config.Options{RepoPath: repo, GlobalFlag: filepath.Join(repo, "no-global.toml")})}
			o.Source.GlobalExplicit = false
			if tc.ignore {
				o.Ignore = func(config.Source) bool { return true }
			}
			in, err := Read(o)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Read: %v (log %q)", err, log.String())
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Read: %v, want %v", err, tc.wantErr)
			case (in == nil) != tc.wantNil:
				t.Fatalf("Read returned input %v, want none: %v", in, tc.wantNil)
			case !strings.Contains(log.String(), tc.wantLog):
				t.Errorf("log %q, want %q in it", log.String(), tc.wantLog)
			case tc.wantLog == "" && log.Len() > 0:
				t.Errorf("log %q, want nothing", log.String())
			}
			if tc.name == "a push" && (in.Config == nil || len(in.Updates) != 1 || in.Updates[0].Name != "refs/heads/main") {
				t.Errorf("input %+v", in)
			}
		})
	}
}
