package remote_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/remote"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string // nil: an error
	}{
		{"id -u", []string{"id", "-u"}},
		{"'cat' '--' '/h/a b/x.log'", []string{"cat", "--", "/h/a b/x.log"}},
		{`git-receive-pack '/h/it'\''s.git'`, []string{"git-receive-pack", "/h/it's.git"}},
		{`'a'\!'b'`, []string{"a!b"}},
		{"''", []string{""}},
		{"tar -x -f - -C '/m/hookrun'", []string{"tar", "-x", "-f", "-", "-C", "/m/hookrun"}},
		{"", nil},
		{"id  -u", nil},
		{"id ", nil},
		{" id", nil},
		{"id; sh", nil},
		{"id|sh", nil},
		{"echo $HOME", nil},
		{"echo `id`", nil},
		{`echo "x"`, nil},
		{"cat /etc/*", nil},
		{"cat ~/x", nil},
		{"cat x>y", nil},
		{"a\nb", nil},
		{"'unterminated", nil},
		{`a\b`, nil},
	} {
		got, err := remote.Words(tc.line)
		if tc.want == nil {
			if err == nil {
				t.Errorf("Words(%q) = %q, want an error", tc.line, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}

// FuzzWords: no line panics Words, and what it accepts it reads back the
// same once quoted as hookrun quotes (job.QuoteArgs).
func FuzzWords(f *testing.F) {
	for _, s := range []string{"id -u", "'a'\\''b' c", "tar -x -f - -C '/m/hookrun'", "a;b", "'x", "\\!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		w, err := remote.Words(line)
		if err != nil {
			return
		}
		back, err := remote.Words(job.QuoteArgs(w))
		if err != nil || !slices.Equal(back, w) {
			t.Fatalf("Words(%q) = %q, but Words(QuoteArgs) = %q, %v", line, w, back, err)
		}
	})
}

// TestGateSavesOnlyPlans: the gate writes a SavePlans stream's plans and
// states into the mirror, and refuses any other member (a path out of the
// directory, a symlink), writing nothing for it.
func TestGateSavesOnlyPlans(t *testing.T) {
	home := t.TempDir()
	m := filepath.Join(home, remote.MirrorsDir, "web.git")
	for _, d := range []string{"units", "state"} {
		if err := os.MkdirAll(filepath.Join(m, "hookrun", d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	stream := func(hdrs ...*tar.Header) *bytes.Buffer {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hdrs {
			if h.Typeflag == tar.TypeReg {
				h.Size = 2
			}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				tw.Write([]byte("{}"))
			}
		}
		tw.Close()
		return &b
	}
	line := remote.SavePlansLine(m)
	g := &remote.Gate{Home: home, UID: os.Getuid(), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	g.Stdin = stream(&tar.Header{Name: "units/u.service.json", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "state/u.service.json", Typeflag: tar.TypeReg, Mode: 0o600})
	if err := g.Run(line); err != nil {
		t.Fatalf("gate refused a SavePlans stream: %v", err)
	}
	for _, p := range []string{"units/u.service.json", "state/u.service.json"} {
		if b, err := os.ReadFile(filepath.Join(m, "hookrun", p)); err != nil || string(b) != "{}" {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
	for _, h := range []*tar.Header{
		{Name: "units/../../../../evil.json", Typeflag: tar.TypeReg},
		{Name: "../evil.json", Typeflag: tar.TypeReg},
		{Name: "units/evil.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		{Name: "hooks/post-receive", Typeflag: tar.TypeReg},
		{Name: "units/.hidden.json", Typeflag: tar.TypeReg},
	} {
		g.Stdin = stream(h)
		if err := g.Run(line); !errors.Is(err, remote.ErrRefused) {
			t.Errorf("member %q (type %c): %v, want refused", h.Name, h.Typeflag, err)
		}
	}
	var found []string
	filepath.Walk(home, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			found = append(found, strings.TrimPrefix(p, home))
		}
		return nil
	})
	if len(found) != 2 {
		t.Errorf("files under the home after refused streams: %q, want only the two plans", found)
	}
}
