package policy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/hookrun/hookrun/internal/gitx"
)

// Git is what the policy engine reads from a repository. Every method is one
// git process however many commits or objects it is asked about (Changes, a
// few for a large push: see Repo.Changes).
type Git interface {
	// NewCommits lists the commits reachable from tips and from none of
	// exclude, each with its parents, newest first. A nil exclude means
	// every ref of the repository (git rev-list --not --all): in a
	// pre-receive hook, the commits the push brings.
	NewCommits(ctx context.Context, tips, exclude []string) ([]Commit, error)
	// ReadObjects calls fn with each object's type and content, in order.
	// fn must not keep body past its return.
	ReadObjects(ctx context.Context, ids []string, fn func(id, typ string, body []byte) error) error
	// ObjectSizes returns each object's size in bytes.
	ObjectSizes(ctx context.Context, ids []string) (map[string]int64, error)
	// Changes calls fn for every file each commit adds or changes compared
	// with its first parent (all files, for a root commit).
	Changes(ctx context.Context, commits []Commit, fn func(commit string, c Change) error) error
	// Signatures verifies each commit's signature (as git verify-commit).
	Signatures(ctx context.Context, ids []string) (map[string]Signature, error)
	// IsAncestor reports whether old is an ancestor of new.
	IsAncestor(ctx context.Context, old, new string) (bool, error)
	// ReadFiles calls fn with the content of each REV:PATH of names that
	// names a blob of at most maxSize bytes; the others are skipped.
	ReadFiles(ctx context.Context, names []string, maxSize int64, fn func(name string, body []byte) error) error
}

// Commit is a commit id with its parents.
type Commit struct {
	ID      string
	Parents []string
}

// Change is one file a commit adds or changes.
type Change struct {
	Path []byte // as git stores it: bytes, not necessarily UTF-8
	Mode string // e.g. 100644; 160000 is a submodule (no blob)
	Blob string
}

// Signature is git's verdict on one commit's signature.
type Signature struct {
	Status      string // %G?: G good, B bad, U good but untrusted, X/Y expired, R revoked, E cannot check, N none
	Signer      string // %GS
	Key         string // %GK
	Fingerprint string // %GF
	Primary     string // %GP
	// SSH is set when the commit carries an SSH signature (gpg.format =
	// ssh), which git checks against gpg.ssh.allowedSignersFile only.
	SSH bool
}

// Repo runs git against one repository. In a pre-receive hook, Env must
// keep git's quarantine variables (GIT_OBJECT_DIRECTORY,
// GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_QUARANTINE_PATH) so the pushed
// objects are visible; QuarantineEnv builds that.
type Repo struct {
	GitDir string
	Env    []string // environment of every git call; nil: CleanEnv of this process's
	Git    string   // git binary; "git" from PATH when empty
}

// quarantineVars are what git-receive-pack(1) sets for pre-receive so git
// commands see the objects of the push before they are moved into place.
var quarantineVars = []string{"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"}

// QuarantineEnv is environ without GIT_* variables except the quarantine
// ones git set for the hook.
func QuarantineEnv(environ []string, getenv func(string) string) []string {
	env := gitx.CleanEnv(environ)
	for _, k := range quarantineVars {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (r *Repo) command(ctx context.Context, args ...string) *exec.Cmd {
	git := r.Git
	if git == "" {
		git = "git"
	}
	cmd := exec.CommandContext(ctx, git, append([]string{"--git-dir", r.GitDir}, args...)...)
	env := r.Env
	if env == nil {
		env = gitx.CleanEnv(os.Environ())
	}
	cmd.Env = append(env[:len(env):len(env)], "GIT_DIR="+r.GitDir)
	return cmd
}

// pipe runs git with args, writing input from a goroutine and handing its
// standard output to read.
func (r *Repo) pipe(ctx context.Context, input func(w *bufio.Writer) error, read func(out *bufio.Reader) error, args ...string) error {
	cmd := r.command(ctx, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git %s: %v", args[0], err)
	}
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(stdin, 64<<10)
		err := input(w)
		if err == nil {
			err = w.Flush()
		}
		stdin.Close()
		werr <- err
	}()
	rerr := read(bufio.NewReaderSize(stdout, 64<<10))
	if rerr != nil {
		_, _ = io.Copy(io.Discard, stdout)
	}
	err = cmd.Wait()
	if e := <-werr; rerr == nil && err == nil && e != nil {
		rerr = e
	}
	if err != nil {
		return fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return rerr
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

func writeLines(ids []string, prefix string) func(w *bufio.Writer) error {
	return func(w *bufio.Writer) error {
		for _, id := range ids {
			w.WriteString(prefix)
			w.WriteString(id)
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}
}

// NewCommits runs one git rev-list --parents --stdin.
func (r *Repo) NewCommits(ctx context.Context, tips, exclude []string) ([]Commit, error) {
	args := []string{"rev-list", "--parents", "--stdin"}
	if exclude == nil {
		args = append(args, "--not", "--all")
	}
	in := func(w *bufio.Writer) error {
		if err := writeLines(tips, "")(w); err != nil {
			return err
		}
		return writeLines(exclude, "^")(w)
	}
	var out []Commit
	err := r.pipe(ctx, in, func(rd *bufio.Reader) error {
		for {
			line, err := rd.ReadString('\n')
			if line = strings.TrimSuffix(line, "\n"); line != "" {
				f := strings.Fields(line)
				out = append(out, Commit{ID: f[0], Parents: f[1:]})
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}, args...)
	return out, err
}

// ReadObjects runs one git cat-file --batch.
func (r *Repo) ReadObjects(ctx context.Context, ids []string, fn func(id, typ string, body []byte) error) error {
	var buf []byte
	return r.pipe(ctx, writeLines(ids, ""), func(rd *bufio.Reader) error {
		for range ids {
			hdr, err := rd.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file: %v", err)
			}
			f := strings.Fields(hdr)
			if len(f) != 3 {
				return fmt.Errorf("git cat-file: %s", strings.TrimSpace(hdr))
			}
			n, err := strconv.Atoi(f[2])
			if err != nil || n < 0 {
				return fmt.Errorf("git cat-file: bad header %q", strings.TrimSpace(hdr))
			}
			if cap(buf) < n+1 {
				buf = make([]byte, n+1)
			}
			buf = buf[:n+1]
			if _, err := io.ReadFull(rd, buf); err != nil {
				return fmt.Errorf("git cat-file: %v", err)
			}
			if err := fn(f[0], f[1], buf[:n]); err != nil {
				return err
			}
		}
		return nil
	}, "cat-file", "--batch")
}

// ObjectSizes runs one git cat-file --batch-check.
func (r *Repo) ObjectSizes(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	err := r.pipe(ctx, writeLines(ids, ""), func(rd *bufio.Reader) error {
		for range ids {
			line, err := rd.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file: %v", err)
			}
			id, size, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
			n, err := strconv.ParseInt(size, 10, 64)
			if !ok || err != nil {
				return fmt.Errorf("git cat-file: %s", strings.TrimSpace(line))
			}
			out[id] = n
		}
		return nil
	}, "cat-file", "--batch-check=%(objectname) %(objectsize)")
	return out, err
}

// changesSplit is how many commits make it worth splitting Changes across
// several diff-tree processes: diffing trees is most of a large push's cost
// (10,000 commits: 0.52 s of one core here), and git does it on one core.
// A variable only so the benchmark can compare with one process.
var changesSplit = 1000

// Changes runs git diff-tree --stdin, each commit against its first parent:
// one process, or for a large push one per CPU (at most 4), each on its own
// part of commits. fn is called on the caller's goroutine in commits' order
// either way.
func (r *Repo) Changes(ctx context.Context, commits []Commit, fn func(commit string, c Change) error) error {
	parts := min(runtime.NumCPU(), 4, len(commits)/changesSplit)
	if parts <= 1 {
		return r.changes(ctx, commits, fn)
	}
	type change struct {
		commit string
		c      Change
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make([][]change, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*len(commits)/parts, (i+1)*len(commits)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.changes(ctx, commits[lo:hi], func(commit string, c Change) error {
				found[i] = append(found[i], change{commit, c})
				return nil
			})
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, part := range found {
		for _, ch := range part {
			if err := fn(ch.commit, ch.c); err != nil {
				return err
			}
		}
	}
	return nil
}

// changes runs one git diff-tree --stdin.
func (r *Repo) changes(ctx context.Context, commits []Commit, fn func(commit string, c Change) error) error {
	in := func(w *bufio.Writer) error {
		for _, c := range commits {
			w.WriteString(c.ID)
			if len(c.Parents) > 0 {
				w.WriteByte(' ')
				w.WriteString(c.Parents[0])
			}
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}
	return r.pipe(ctx, in, func(rd *bufio.Reader) error {
		commit := ""
		for {
			tok, err := rd.ReadBytes(0)
			if err == io.EOF && len(tok) == 0 {
				return nil
			}
			if err != nil {
				return fmt.Errorf("git diff-tree: %v", err)
			}
			tok = tok[:len(tok)-1]
			if len(tok) == 0 || tok[0] != ':' {
				commit = string(tok)
				continue
			}
			// ":oldmode newmode oldsha newsha status", then the path.
			f := strings.Fields(string(tok[1:]))
			path, err := rd.ReadBytes(0)
			if err != nil || len(f) != 5 {
				return fmt.Errorf("git diff-tree: unexpected output %q", tok)
			}
			if f[4] == "D" {
				continue
			}
			if err := fn(commit, Change{Path: path[:len(path)-1], Mode: f[1], Blob: f[3]}); err != nil {
				return err
			}
		}
	}, "diff-tree", "--stdin", "-r", "-z", "--root", "--no-renames", "--no-ext-diff", "--no-textconv")
}

// Signatures runs one git log --no-walk, which checks each signature as
// git verify-commit does.
func (r *Repo) Signatures(ctx context.Context, ids []string) (map[string]Signature, error) {
	out := make(map[string]Signature, len(ids))
	err := r.pipe(ctx, writeLines(ids, ""), func(rd *bufio.Reader) error {
		for {
			rec, err := rd.ReadString(0x1e)
			if rec = strings.TrimSpace(strings.TrimSuffix(rec, "\x1e")); rec != "" {
				f := strings.Split(rec, "\x1f")
				if len(f) == 6 {
					out[f[0]] = Signature{Status: f[1], Signer: f[2], Key: f[3], Fingerprint: f[4], Primary: f[5]}
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}, "log", "--no-walk=unsorted", "--stdin", "--format=%H%x1f%G?%x1f%GS%x1f%GK%x1f%GF%x1f%GP%x1e")
	if err != nil {
		return out, err
	}
	// Which of the commits git could not check are SSH-signed: read only
	// those (a refusal follows), so the pusher is told the truth.
	var unchecked []string
	for _, id := range ids {
		if s := out[id].Status; s == "N" || s == "E" {
			unchecked = append(unchecked, id)
		}
	}
	if len(unchecked) == 0 {
		return out, nil
	}
	err = r.ReadObjects(ctx, unchecked, func(id, typ string, body []byte) error {
		hdr, _, _ := bytes.Cut(body, []byte("\n\n"))
		if bytes.Contains(hdr, []byte("\ngpgsig -----BEGIN SSH SIGNATURE-----")) {
			s := out[id]
			s.SSH = true
			out[id] = s
		}
		return nil
	})
	return out, err
}

// IsAncestor runs git merge-base --is-ancestor.
func (r *Repo) IsAncestor(ctx context.Context, old, new string) (bool, error) {
	return gitx.Ancestry{GitDir: r.GitDir, Git: r.Git, Env: r.Env}.IsAncestor(old, new)
}
