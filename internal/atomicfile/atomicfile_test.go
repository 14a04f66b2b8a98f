package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	defer syscall.Umask(syscall.Umask(0o077))
	for _, content := range []string{"one\n", "two, longer\n", ""} {
		if err := Write(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Fatalf("read %q, %v; want %q", b, err, content)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644 whatever the umask", fi.Mode(), err)
	}
	onlyFile(t, dir, "a.json")
}

// A failed write leaves the file as it was and no temporary file behind.
func TestWriteFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	if err := Write(path, []byte("kept\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFrom(path, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want boom naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "kept\n" {
		t.Errorf("file holds %q after a failed write", b)
	}
	onlyFile(t, dir, "a.json")
	// A directory that does not exist: an error naming the file.
	if err := Write(filepath.Join(dir, "none", "b"), nil, 0o600); err == nil || !strings.Contains(err.Error(), "none/b") {
		t.Errorf("err = %v", err)
	}
}

func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(des) != 1 || des[0].Name() != name {
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		t.Errorf("directory holds %v, want only %s", names, name)
	}
}

// BenchmarkWrite is the cost of a history-sized write with the fsyncs;
// BenchmarkWriteUnsynced is the write-and-rename most sites did before.
func BenchmarkWrite(b *testing.B) {
	path, data := filepath.Join(b.TempDir(), "history.jsonl"), []byte(strings.Repeat("x", 64<<10))
	for b.Loop() {
		if err := Write(path, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteUnsynced(b *testing.B) {
	path, data := filepath.Join(b.TempDir(), "history.jsonl"), []byte(strings.Repeat("x", 64<<10))
	for b.Loop() {
		if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			b.Fatal(err)
		}
	}
}
