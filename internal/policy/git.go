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
	// Refs lists the repository's refs with the objects they point at: in
	// a pre-receive hook, the refs as they are before the push.
	Refs(ctx context.Context) ([]Ref, error)
	// NewCommits lists the commits reachable from tips and from none of
	// exclude, each with its parents, newest first. Tips and excludes that
	// are tags are peeled; those that are trees or blobs are ignored. A
	// nil exclude means every ref of the repository (git rev-list --not
	// --all). No tips: no commits, and no git process.
	NewCommits(ctx context.Context, tips, exclude []string) ([]Commit, error)
	// ReadObjects calls fn with each object's type and content, in order.
	// fn must not keep body past its return.
	ReadObjects(ctx context.Context, ids []string, fn func(id, typ string, body []byte) error) error
	// StreamObjects calls fn with each object's type, size and content as
	// a reader of exactly size bytes, in order, so that an object of any
	// size is read in bounded memory. What fn leaves unread is skipped; r
	// is not valid past fn's return.
	StreamObjects(ctx context.Context, ids []string, fn func(id, typ string, size int64, r io.Reader) error) error
	// ObjectInfo returns each object's type and size, without reading it.
	ObjectInfo(ctx context.Context, ids []string) (map[string]Object, error)
	// Changes calls fn for every file each commit adds or changes compared
	// with its first parent (all files, for a root commit). An entry whose
	// ID is a tree and whose only parent is the empty tree lists every file
	// of that tree (a tag pointing at a tree).
	Changes(ctx context.Context, commits []Commit, fn func(commit string, c Change) error) error
	// Signatures verifies each commit's signature (as git verify-commit).
	Signatures(ctx context.Context, ids []string) (map[string]Signature, error)
	// IsAncestor reports whether old is an ancestor of new.
	IsAncestor(ctx context.Context, old, new string) (bool, error)
	// ReadFiles calls fn with the content of each REV:PATH of names that
	// names a blob of at most maxSize bytes; the others are skipped.
	ReadFiles(ctx context.Context, names []string, maxSize int64, fn func(name string, body []byte) error) error
}

// Ref is one ref and the object it points at.
type Ref struct {
	Name, ID string
}

// Object is an object's type ("commit", "tree", "blob", "tag") and size.
type Object struct {
	Type string
	Size int64
}

// EmptyTree is the id of the tree with no entries, for the repository's
// hash (that of id, a full object name of the same repository).
func EmptyTree(id string) string {
	if len(id) == 64 {
		return "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"
	}
	return "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
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
	if len(tips) == 0 {
		return nil, nil
	}
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

// ReadObjects runs one git cat-file --batch (StreamObjects), each object
// read whole into one reused buffer.
func (r *Repo) ReadObjects(ctx context.Context, ids []string, fn func(id, typ string, body []byte) error) error {
	var buf []byte
	return r.StreamObjects(ctx, ids, func(id, typ string, size int64, rd io.Reader) error {
		if int64(cap(buf)) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(rd, buf); err != nil {
			return fmt.Errorf("git cat-file: %v", err)
		}
		return fn(id, typ, buf)
	})
}

// StreamObjects runs one git cat-file --batch.
func (r *Repo) StreamObjects(ctx context.Context, ids []string, fn func(id, typ string, size int64, r io.Reader) error) error {
	if len(ids) == 0 {
		return nil
	}
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
			n, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("git cat-file: bad header %q", strings.TrimSpace(hdr))
			}
			body := &io.LimitedReader{R: rd, N: n}
			if err := fn(f[0], f[1], n, body); err != nil {
				return err
			}
			// The rest of the object, and the newline after it.
			if _, err := io.CopyN(io.Discard, rd, body.N+1); err != nil {
				return fmt.Errorf("git cat-file: %v", err)
			}
		}
		return nil
	}, "cat-file", "--batch")
}

// ObjectInfo runs one git cat-file --batch-check.
func (r *Repo) ObjectInfo(ctx context.Context, ids []string) (map[string]Object, error) {
	out := make(map[string]Object, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := r.pipe(ctx, writeLines(ids, ""), func(rd *bufio.Reader) error {
		for range ids {
			line, err := rd.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file: %v", err)
			}
			id, o, err := parseBatchCheck(line)
			if err != nil {
				return err
			}
			out[id] = o
		}
		return nil
	}, "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)")
	return out, err
}

// parseBatchCheck reads one "<id> <type> <size>" line of git cat-file
// --batch-check (or "<name> missing").
func parseBatchCheck(line string) (string, Object, error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return "", Object{}, fmt.Errorf("git cat-file: %s", printable(strings.TrimSpace(line)))
	}
	n, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || n < 0 {
		return "", Object{}, fmt.Errorf("git cat-file: bad size in %s", printable(strings.TrimSpace(line)))
	}
	return f[0], Object{Type: f[1], Size: n}, nil
}

// Refs runs one git for-each-ref.
func (r *Repo) Refs(ctx context.Context) ([]Ref, error) {
	var out []Ref
	err := r.pipe(ctx, func(*bufio.Writer) error { return nil }, func(rd *bufio.Reader) error {
		for {
			line, err := rd.ReadString('\n')
			if line = strings.TrimSuffix(line, "\n"); line != "" {
				ref, ok := parseRefLine(line)
				if !ok {
					return fmt.Errorf("git for-each-ref: unexpected output %s", printable(line))
				}
				out = append(out, ref)
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}, "for-each-ref", "--format=%(objectname) %(refname)")
	return out, err
}

// parseRefLine reads "<id> <refname>".
func parseRefLine(line string) (Ref, bool) {
	id, name, ok := strings.Cut(line, " ")
	if !ok || id == "" || name == "" {
		return Ref{}, false
	}
	return Ref{Name: name, ID: id}, true
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
	if len(commits) == 0 {
		return nil
	}
	in := func(w *bufio.Writer) error {
		for _, c := range commits {
			if len(c.Parents) == 1 && c.Parents[0] == EmptyTree(c.ID) {
				// A tree: "<empty tree> <tree>" lists all its files as added.
				w.WriteString(c.Parents[0])
				w.WriteByte(' ')
				w.WriteString(c.ID)
			} else {
				w.WriteString(c.ID)
				if len(c.Parents) > 0 {
					w.WriteByte(' ')
					w.WriteString(c.Parents[0])
				}
			}
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}
	return r.pipe(ctx, in, func(rd *bufio.Reader) error { return parseDiffTree(rd, fn) },
		"diff-tree", "--stdin", "-r", "-z", "--root", "--no-renames", "--no-ext-diff", "--no-textconv")
}

// parseDiffTree reads git diff-tree --stdin -r -z output: a header per
// commit ("<id>\x00"; for two trees "<tree> <tree>\n"), then for each file
// ":<modes> <ids> <status>\x00<path>\x00". Deleted files are skipped.
func parseDiffTree(rd *bufio.Reader, fn func(commit string, c Change) error) error {
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
			// A commit's id; for two trees, "<empty tree> <tree>\n"
			// and the first change in the same token.
			hdr, rest, two := bytes.Cut(tok, []byte("\n"))
			commit = string(hdr)
			if i := bytes.LastIndexByte(hdr, ' '); i >= 0 {
				commit = string(hdr[i+1:])
			}
			if !two || len(rest) == 0 || rest[0] != ':' {
				continue
			}
			tok = rest
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
}

// Signatures runs one git log --no-walk, which checks each signature as
// git verify-commit does.
func (r *Repo) Signatures(ctx context.Context, ids []string) (map[string]Signature, error) {
	out := make(map[string]Signature, len(ids))
	if len(ids) == 0 {
		// git log --stdin with no input would show HEAD, and fail on an
		// unborn one.
		return out, nil
	}
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
