package policy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/match"
)

// readCounter is a Repo that records which objects are read whole.
type readCounter struct {
	*Repo
	read []string
}

func (r *readCounter) ReadObjects(ctx context.Context, ids []string, fn func(id, typ string, body []byte) error) error {
	r.read = append(r.read, ids...)
	return r.Repo.ReadObjects(ctx, ids, fn)
}

// importRepo makes a bare repository from a git fast-import stream and
// returns it with the object name of each ref asked for.
func importRepo(t *testing.T, stream string, refs ...string) (string, []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := filepath.Join(t.TempDir(), "r.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	cmd := exec.Command("git", "--git-dir", repo, "fast-import", "--quiet")
	cmd.Stdin = strings.NewReader(stream)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git fast-import: %v\n%s", err, out)
	}
	var ids []string
	for _, r := range refs {
		out, err := exec.Command("git", "--git-dir", repo, "rev-parse", r).Output()
		if err != nil {
			t.Fatalf("rev-parse %s: %v", r, err)
		}
		ids = append(ids, strings.TrimSpace(string(out)))
		if out, err := exec.Command("git", "--git-dir", repo, "update-ref", "-d", r).CombinedOutput(); err != nil {
			t.Fatalf("update-ref -d %s: %v\n%s", r, err, out)
		}
	}
	return repo, ids
}

func blobFile(path string, data string) string {
	return fmt.Sprintf("M 100644 inline %s\ndata %d\n%s\n", path, len(data), data)
}

func commitOf(ref, msg string, files ...string) string {
	return fmt.Sprintf("commit %s\ncommitter A <a@example.com> 1700000000 +0000\ndata %d\n%s\n%s", ref, len(msg), msg, strings.Join(files, ""))
}

// TestOversizeBlobNotRead: a blob over the max_file_size of every policy
// that scans it for secrets is refused for its size and never read; a
// policy scanning without a size limit still reads it.
func TestOversizeBlobNotRead(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
		"QyNTUxOQAAACDmB7u2V6LuCzK1Jr3XQfX7fYkq3ZyG9w8bR2sPjyC0wAAAJgAAAAAAAAAA\n" +
		"-----END OPENSSH PRIVATE KEY-----\n"
	big := key + strings.Repeat("x", 2<<20)
	repo, tips := importRepo(t, commitOf("refs/heads/import", "one", blobFile("big.txt", big), blobFile("id_key", key)), "refs/heads/import")
	blobs := map[string]string{}
	for _, f := range []string{"big.txt", "id_key"} {
		out, err := exec.Command("git", "--git-dir", repo, "rev-parse", tips[0]+":"+f).Output()
		if err != nil {
			t.Fatal(err)
		}
		blobs[f] = strings.TrimSpace(string(out))
	}
	push := Push{Updates: []match.RefUpdate{{Old: strings.Repeat("0", 40), New: tips[0], Name: "refs/heads/main"}}}
	for _, tc := range []struct {
		name     string
		config   string
		wantRead []string
		want     []string
	}{
		{"bounded", `version = 1
[[policy]]
name = "p"
branches = ["**"]
secrets = true
max_file_size = "1M"
`, []string{blobs["id_key"]}, []string{"file big.txt is 2.0M; max_file_size is 1M", "id_key:1 holds a private key"}},
		{"one policy without a limit", `version = 1
[[policy]]
name = "p"
branches = ["**"]
secrets = true
max_file_size = "1M"
[[policy]]
name = "q"
branches = ["main"]
secrets = true
`, []string{blobs["big.txt"], blobs["id_key"]}, []string{"p: refs/heads/main", "big.txt is 2.0M", "q: refs/heads/main", "big.txt:1 holds a private key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			git := &readCounter{Repo: &Repo{GitDir: repo}}
			res, err := Evaluate(context.Background(), benchPolicies(t, tc.config), push, git)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range res.Violations {
				got = append(got, v.String())
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("violations lack %q:\n%s", w, all)
				}
			}
			slices.Sort(git.read)
			slices.Sort(tc.wantRead)
			var blobsRead []string
			for _, id := range git.read {
				if id == blobs["big.txt"] || id == blobs["id_key"] {
					blobsRead = append(blobsRead, id)
				}
			}
			if !slices.Equal(blobsRead, tc.wantRead) {
				t.Errorf("blobs read: %v, want %v (big.txt %s)", blobsRead, tc.wantRead, blobs["big.txt"])
			}
		})
	}
}

// FuzzWalkInput: what the object walk reads from git (tag objects,
// cat-file --batch-check and for-each-ref lines, diff-tree output), of any
// bytes, parses without panicking, and a well-formed tag reads back.
func FuzzWalkInput(f *testing.F) {
	f.Add([]byte("object 1234\ntype commit\ntag v1\ntagger T <t@example.com> 1 +0000\n\nmessage\n"))
	f.Add([]byte("4b825dc642cb6eb9a060e54bf8d69288fbee4904 abcd\n:000000 100644 0000 1111 A\x00cfg/.env\x00"))
	f.Add([]byte("abcd tree 12\n"))
	f.Add([]byte("abcd refs/heads/main"))
	f.Add([]byte("c0ffee\x00:100644 100644 1 2 M\x00a b\x00:100644 000000 2 0 D\x00gone\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tg := parseTag(data)
		_ = tg.message
		_, _, _ = parseBatchCheck(string(data))
		_, _ = parseRefLine(string(data))
		_ = parseDiffTree(bufio.NewReader(bytes.NewReader(data)), func(commit string, c Change) error {
			if len(c.Path) > len(data) || len(commit) > len(data) {
				t.Fatalf("change larger than its input: %q %+v", commit, c)
			}
			return nil
		})
		// A tag built around any one-line fields reads back.
		line := string(bytes.Map(func(r rune) rune {
			if r == '\n' || r == '<' || r == '>' {
				return -1
			}
			return r
		}, data))
		if strings.ContainsRune(line, ' ') || line == "" {
			return
		}
		raw := "object " + line + "\ntype " + line + "\ntag t\ntagger T <" + line + "> 1 +0000\n\nmsg"
		back := parseTag([]byte(raw))
		if back.object != line || back.typ != line || back.tagger != line || string(back.message) != "msg" {
			t.Fatalf("tag round trip of %q: %+v", line, back)
		}
	})
}

// TestNoPolicyAppliesNoGit: a push no policy applies to, or one only ref
// checks apply to, calls no git (a nil Git would panic).
func TestNoPolicyAppliesNoGit(t *testing.T) {
	pols := benchPolicies(t, `version = 1
[[policy]]
name = "main"
branches = ["main"]
secrets = true
[[policy]]
name = "custom"
refs = ["refs/custom/**"]
commit_message = '.'
[[policy]]
name = "names"
branches = ["feature/*"]
ref_name = '^feature/[a-z]+$'
`)
	z := strings.Repeat("0", 40)
	for _, ups := range [][]match.RefUpdate{
		{{Old: z, New: strings.Repeat("1", 40), Name: "refs/heads/other"}, {Old: z, New: strings.Repeat("1", 40), Name: "refs/tags/v1"}},
		{{Old: z, New: strings.Repeat("2", 40), Name: "refs/heads/feature/x"}},
		{{Old: strings.Repeat("2", 40), New: z, Name: "refs/custom/y"}},
	} {
		if _, err := Evaluate(context.Background(), pols, Push{Updates: ups}, nil); err != nil {
			t.Errorf("%v: %v", ups, err)
		}
	}
}

// TestNewPerPolicy: what is new is decided per policy, against the refs
// that policy selects before the push. Commit B sits on refs/custom/x; a
// push of main from A to B brings B to the policy on branches, not to the
// one on every ref, for which B was already there.
func TestNewPerPolicy(t *testing.T) {
	stream := commitOf("refs/heads/main", "feat: a", blobFile("a", "a\n")) +
		"commit refs/custom/x\ncommitter A <a@example.com> 1700000000 +0000\ndata 2\nb\nfrom refs/heads/main\n" + blobFile("b", "b\n")
	repo, _ := importRepo(t, stream)
	rev := func(r string) string {
		out, err := exec.Command("git", "--git-dir", repo, "rev-parse", r).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	a, b := rev("refs/heads/main"), rev("refs/custom/x")
	pols := benchPolicies(t, `version = 1
[[policy]]
name = "branches"
branches = ["**"]
commit_message = '^feat: '
[[policy]]
name = "everything"
refs = ["refs/**"]
commit_message = '^feat: '
`)
	res, err := Evaluate(context.Background(), pols, Push{Updates: []match.RefUpdate{{Old: a, New: b, Name: "refs/heads/main"}}}, &Repo{GitDir: repo})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Violations) != 1 || res.Violations[0].Policy != "branches" || res.Violations[0].Commit != b {
		t.Errorf("violations %v, want one of policy branches on %s", res.Violations, b)
	}
	if res.Commits != 1 {
		t.Errorf("%d commits read, want 1", res.Commits)
	}
}
