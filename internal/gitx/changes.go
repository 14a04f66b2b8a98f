package gitx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/match"
)

// gitTimeout bounds each git process that lists changed files: a tree diff
// of a huge push may take a while, a hung git must not hold the push forever.
const gitTimeout = 2 * time.Minute

// Changes lists the files ref updates changed, as git names them (bytes, not
// necessarily UTF-8, possibly with newlines). It implements match.Changes
// and, however many refs a push has, runs at most five git processes (one
// for the common push of a single update):
//
//   - one `git cat-file --batch-check` peels every old and new object name
//     to its tree (updates) or commit (creates);
//   - update and force: one `git diff-tree --stdin -z -r --no-renames` lists,
//     for every ref, the files that differ between its old and new trees;
//   - create: `git for-each-ref` finds the refs the repository had before the
//     push (the refs not pushed, and the old values of those pushed),
//     `git rev-list --stdin --parents` the commits the created refs bring
//     that none of those reaches, and one `git diff-tree --stdin -c --root`
//     the files each of those commits touched (a merge: the files it changed
//     from every parent, i.e. its own conflict resolutions).
//
// Renames count as a deletion of the old name and an addition of the new.
// Deletes change no files, nor does an object that does not peel to a tree.
type Changes struct {
	GitDir string
	Git    string // git binary; "git" from PATH when empty
}

// Files implements match.Changes.
func (c Changes) Files(ups []match.RefUpdate) ([][]string, error) {
	out := make([][]string, len(ups))
	var updates, creates []int
	for i, u := range ups {
		switch {
		case u.IsDelete():
		case u.IsCreate():
			creates = append(creates, i)
		default:
			updates = append(updates, i)
		}
	}
	if len(updates)+len(creates) == 0 {
		return out, nil
	}
	if len(creates) == 0 && onePair(ups, updates) {
		// The common push, one update: a single diff-tree, which peels
		// both names itself. Should it fail (a name that is no tree-ish),
		// the batch below says which.
		if files, err := c.diffPair(ups[updates[0]].Old, ups[updates[0]].New); err == nil {
			for _, i := range updates {
				out[i] = files
			}
			return out, nil
		}
	}
	// Peel each distinct object name once: the refs of a big push mostly
	// share their old and new commits.
	var peel bytes.Buffer
	var asked []string
	at := map[string]int{} // request -> index in asked
	ask := func(req string) {
		if _, ok := at[req]; !ok {
			at[req] = len(asked)
			asked = append(asked, req)
			peel.WriteString(req + "\n")
		}
	}
	for _, i := range updates {
		ask(ups[i].Old + "^{tree}")
		ask(ups[i].New + "^{tree}")
	}
	for _, i := range creates {
		ask(ups[i].New + "^{commit}")
	}
	peeled, err := c.git(peel.Bytes(), "cat-file", "--buffer", "--batch-check=%(objectname) %(objecttype)")
	if err != nil {
		return nil, err
	}
	answers := peeledNames(peeled)
	if len(answers) != len(asked) {
		return nil, fmt.Errorf("git cat-file: %d answers for %d object names", len(answers), len(asked))
	}
	names := make([]string, 0, 2*len(updates)+len(creates))
	for _, i := range updates {
		names = append(names, answers[at[ups[i].Old+"^{tree}"]], answers[at[ups[i].New+"^{tree}"]])
	}
	for _, i := range creates {
		names = append(names, answers[at[ups[i].New+"^{commit}"]])
	}
	if err := c.updates(ups, updates, names[:2*len(updates)], out); err != nil {
		return nil, err
	}
	if err := c.creates(ups, creates, names[2*len(updates):], out); err != nil {
		return nil, err
	}
	return out, nil
}

// onePair reports whether every update in idx has the same old and new.
func onePair(ups []match.RefUpdate, idx []int) bool {
	for _, i := range idx[1:] {
		if ups[i].Old != ups[idx[0]].Old || ups[i].New != ups[idx[0]].New {
			return false
		}
	}
	return true
}

// diffPair lists the files that differ between old's and new's trees.
func (c Changes) diffPair(old, new string) ([]string, error) {
	b, err := c.git(nil, "diff-tree", "-r", "-z", "--no-renames", "--name-only", old, new)
	if err != nil {
		return nil, err
	}
	var files []string
	for len(b) > 0 {
		end := bytes.IndexByte(b, 0)
		if end < 0 {
			return nil, errors.New("git diff-tree: truncated path")
		}
		files = append(files, string(b[:end]))
		b = b[end+1:]
	}
	return files, nil
}

// peeledNames reads cat-file --batch-check answers: an object name, or ""
// for one that is missing or does not peel to the type asked for.
func peeledNames(b []byte) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		name, typ, _ := strings.Cut(line, " ")
		if typ != "tree" && typ != "commit" {
			name = ""
		}
		out = append(out, name)
	}
	return out
}

// updates fills out for the update and force refs: the diff of old and new
// trees, one diff-tree for all of them.
func (c Changes) updates(ups []match.RefUpdate, idx []int, trees []string, out [][]string) error {
	var in bytes.Buffer
	var pairs []string // in input order, each once
	seen := map[string]bool{}
	for k := range idx {
		old, new := trees[2*k], trees[2*k+1]
		if old == "" || new == "" || old == new {
			continue
		}
		if p := old + " " + new; !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
			in.WriteString(p + "\n")
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	files, err := c.diffTree(in.Bytes())
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if _, ok := files[p]; !ok {
			return fmt.Errorf("git diff-tree: no answer for trees %s", p)
		}
	}
	for k, i := range idx {
		out[i] = files[trees[2*k]+" "+trees[2*k+1]]
	}
	return nil
}

// creates fills out for the created refs: the files touched by the commits
// that no ref reached before the push.
func (c Changes) creates(ups []match.RefUpdate, idx []int, tips []string, out [][]string) error {
	var in bytes.Buffer
	for _, t := range tips {
		if t != "" {
			in.WriteString(t + "\n")
		}
	}
	if in.Len() == 0 {
		return nil
	}
	before, err := c.refsBefore(ups)
	if err != nil {
		return err
	}
	for _, b := range before {
		in.WriteString("^" + b + "\n")
	}
	b, err := c.git(in.Bytes(), "rev-list", "--stdin", "--ignore-missing", "--parents")
	if err != nil {
		return err
	}
	parents := map[string][]string{} // every new commit, with its parents
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			parents[f[0]] = f[1:]
			order = append(order, f[0])
		}
	}
	if len(order) == 0 {
		return nil // every created ref names commits the repository had
	}
	in.Reset()
	for _, cm := range order {
		in.WriteString(cm + "\n")
	}
	touched, err := c.diffTree(in.Bytes(), "-c", "--root")
	if err != nil {
		return err
	}
	for k, i := range idx {
		if tips[k] == "" {
			continue
		}
		out[i] = union(reachable(tips[k], parents), touched)
	}
	return nil
}

// refsBefore lists the object names the repository's refs had before the
// push. post-receive runs after the refs moved, so the pushed refs are left
// out and their old values (if any) put back.
func (c Changes) refsBefore(ups []match.RefUpdate) ([]string, error) {
	pushed := make(map[string]bool, len(ups))
	var names []string
	for _, u := range ups {
		pushed[u.Name] = true
		if !u.IsCreate() {
			names = append(names, u.Old)
		}
	}
	b, err := c.git(nil, "for-each-ref", "--format=%(objectname) %(refname)")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if name, ref, ok := strings.Cut(line, " "); ok && !pushed[ref] {
			names = append(names, name)
		}
	}
	return names, nil
}

// reachable lists the new commits tip reaches (tip is new, or not in parents).
func reachable(tip string, parents map[string][]string) []string {
	var out []string
	seen := map[string]bool{}
	stack := []string{tip}
	for len(stack) > 0 {
		cm := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ps, isNew := parents[cm]
		if !isNew || seen[cm] {
			continue
		}
		seen[cm] = true
		out = append(out, cm)
		stack = append(stack, ps...)
	}
	return out
}

// union is the sorted set of files the commits touched.
func union(commits []string, touched map[string][]string) []string {
	var files []string
	for _, cm := range commits {
		files = append(files, touched[cm]...)
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// diffTree runs one diff-tree for every line of in (tree pairs or commits)
// and returns the changed files by header.
func (c Changes) diffTree(in []byte, extra ...string) (map[string][]string, error) {
	args := append([]string{"diff-tree", "--stdin", "-z", "-r", "--no-renames", "--raw", "--always"}, extra...)
	b, err := c.git(in, args...)
	if err != nil {
		return nil, err
	}
	blocks, err := parseDiffTree(b)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]string, len(blocks))
	for _, bl := range blocks {
		files[bl.header] = bl.files
	}
	return files, nil
}

type diffBlock struct {
	header string // "old-tree new-tree" for a pair, the commit for a commit
	files  []string
}

// parseDiffTree reads `git diff-tree --stdin -z --raw --always` output: per
// input line a header (ended by a newline for tree pairs, by NUL for
// commits), then for each changed file a raw record (":modes ids status",
// NUL) and the path (NUL). A path follows only a record, so a path that
// looks like a header is never taken for one.
func parseDiffTree(b []byte) ([]diffBlock, error) {
	var out []diffBlock
	for len(b) > 0 {
		if b[0] == ':' {
			if len(out) == 0 {
				return nil, errors.New("git diff-tree: a change before any header")
			}
			rec := bytes.IndexByte(b, 0)
			if rec < 0 {
				return nil, errors.New("git diff-tree: truncated record")
			}
			b = b[rec+1:]
			end := bytes.IndexByte(b, 0)
			if end < 0 {
				return nil, errors.New("git diff-tree: truncated path")
			}
			last := &out[len(out)-1]
			last.files = append(last.files, string(b[:end]))
			b = b[end+1:]
			continue
		}
		end := bytes.IndexAny(b, "\x00\n")
		if end < 0 {
			end = len(b)
		}
		out = append(out, diffBlock{header: string(b[:end])})
		b = b[min(end+1, len(b)):]
	}
	return out, nil
}

// git runs git with stdin and returns its standard output.
func (c Changes) git(stdin []byte, args ...string) ([]byte, error) {
	bin := c.Git
	if bin == "" {
		bin = "git"
	}
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--git-dir", c.GitDir}, args...)...)
	cmd.Env = append(CleanEnv(os.Environ()), "GIT_DIR="+c.GitDir)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %v", gitTimeout)
		}
		return nil, fmt.Errorf("listing changed files: git %s in %s: %v: %s", args[0], c.GitDir, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
