package remote

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/unit"
)

// Gate is the forced command of the git server's key on a build host
// (`restrict,command="hookrun ssh-gate"` in authorized_keys): it runs only
// the command lines hookrun itself sends to a host, read from
// SSH_ORIGINAL_COMMAND, and refuses every other. No shell ever sees the
// line: it is split into words by Words (plain words and single-quoted
// strings only), each word is checked against what hookrun sends, and the
// gate either does the work itself (preparing a mirror, saving plans,
// reading a mirror's history or a log) or executes the program with an
// argument vector (git-receive-pack into a mirror, systemd-stdio-bridge to
// the user's own manager).
type Gate struct {
	Home       string // the ssh user's home directory (the mirrors are under it)
	UID        int    // the ssh user's uid
	RuntimeDir string // the user manager's runtime directory ("": /run/user/UID)
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
}

// GateOptions is the options field of the authorized_keys line that lets
// the git server's key in only through the gate: `restrict` (no pty, no
// forwarding of any kind) and the forced command, hookrun being the path of
// hookrun on the host and runtimeDir the [hosts.NAME] entry's runtime_dir
// ("" when not set). docs/remote-hosts.md shows it; the tests use it.
func GateOptions(hookrun, runtimeDir string) string {
	cmd := hookrun + " ssh-gate"
	if runtimeDir != "" {
		cmd += " --runtime-dir " + runtimeDir
	}
	return `restrict,command="` + cmd + `"`
}

// ErrRefused is matched (errors.Is) by Gate.Run's error for a command line
// that is not one hookrun sends.
var ErrRefused = errors.New("refused")

// maxShipped bounds one file of a SavePlans stream (a plan or a state).
const maxShipped = 64 << 20

// Run does what line asks, if it is one of hookrun's command lines, and
// returns nil when that succeeded; a program it executes replaces the
// process (it does not return then). An error for a line it does not
// accept wraps ErrRefused.
func (g *Gate) Run(line string) error {
	if rel, ok := strings.CutPrefix(line, preparePrefix); ok {
		if rel, ok = strings.CutSuffix(rel, prepareSuffix); ok {
			w, err := Words(rel)
			if err != nil || len(w) != 1 {
				return refused("the mirror path is not one quoted word")
			}
			name, ok := strings.CutPrefix(w[0], MirrorsDir+"/")
			if !ok || !oneElement(name) || !strings.HasSuffix(name, ".git") {
				return refused("%q is not a mirror", w[0])
			}
			return g.prepare(filepath.Join(g.Home, MirrorsDir, name))
		}
	}
	w, err := Words(line)
	if err != nil {
		return refused("%v", err)
	}
	switch {
	case len(w) == 2 && w[0] == "id" && w[1] == "-u":
		_, err := fmt.Fprintln(g.Stdout, g.UID)
		return err
	case len(w) == 2 && w[0] == "systemd-stdio-bridge":
		if w[1] != "--bus-path="+BusPath(g.runtimeDir()) {
			return refused("systemd-stdio-bridge reaches only %s", BusPath(g.runtimeDir()))
		}
		return execv("systemd-stdio-bridge", w[1:])
	case len(w) == 2 && w[0] == "git-receive-pack":
		m, err := g.mirror(w[1])
		if err != nil {
			return err
		}
		return execv("git-receive-pack", []string{m})
	case len(w) == 6 && strings.Join(w[:5], " ") == "tar -x -f - -C":
		m, err := g.mirror(strings.TrimSuffix(w[5], "/"+layout.DirName))
		if err != nil || w[5] != layout.Dir(m) {
			return refused("plans go only into a mirror's hookrun directory")
		}
		return g.receivePlans(m)
	case len(w) == 3 && w[0] == "cat" && w[1] == "--":
		return g.cat(w[2])
	}
	return refused("not a command hookrun sends")
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

func (g *Gate) runtimeDir() string {
	if g.RuntimeDir != "" {
		return g.RuntimeDir
	}
	return "/run/user/" + strconv.Itoa(g.UID)
}

// oneElement reports whether name is one path element, not . or ..
func oneElement(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// mirror checks that p is a mirror's absolute path: HOME/MirrorsDir/NAME.git.
func (g *Gate) mirror(p string) (string, error) {
	name, ok := strings.CutPrefix(p, filepath.Join(g.Home, MirrorsDir)+"/")
	if !ok || !oneElement(name) || !strings.HasSuffix(name, ".git") {
		return "", refused("%q is not a mirror under %s", p, filepath.Join(g.Home, MirrorsDir))
	}
	return p, nil
}

// prepare does what the preparation line does, for the mirror at m.
func (g *Gate) prepare(m string) error {
	fmt.Fprintf(g.Stdout, "%d\n%s\n", g.UID, g.Home)
	if fi, err := os.Stat(m); err != nil || !fi.IsDir() {
		if err := g.run("git", "init", "-q", "--bare", "--", m); err != nil {
			return err
		}
	}
	for _, d := range []string{layout.PlansDir(m), layout.StatesDir(m), layout.LogsDir(m)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	cmd := exec.Command("git", "-C", m, "for-each-ref", "--format=%(refname)")
	cmd.Stdout, cmd.Stderr = g.Stdout, g.Stderr
	return cmd.Run()
}

func (g *Gate) run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, g.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// receivePlans reads a SavePlans tar stream into the mirror m: only
// regular files units/UNIT.json and state/UNIT.json, each unit's pair
// saved by internal/unit (Store.Receive: the plan whole, the state under
// the unit's state lock) once both have arrived, in either order; anything
// else refuses the whole rest of the stream, and so does a plan or a state
// left without the other at its end.
func (g *Gate) receivePlans(m string) error {
	store := &unit.Store{RepoPath: m, NoSync: true}
	type pair struct{ plan, state []byte }
	pending := map[string]*pair{}
	tr := tar.NewReader(g.Stdin)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the plans: %v", err)
		}
		sub, name, _ := strings.Cut(h.Name, "/")
		if h.Typeflag != tar.TypeReg || (sub != "units" && sub != "state") || !oneElement(name) ||
			!strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") || h.Size > maxShipped {
			return refused("%q is not a plan or a state", h.Name)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxShipped))
		if err != nil {
			return fmt.Errorf("reading the plans: %v", err)
		}
		name = strings.TrimSuffix(name, ".json")
		p := pending[name]
		if p == nil {
			p = &pair{}
			pending[name] = p
		}
		if sub == "units" {
			p.plan = b
		} else {
			p.state = b
		}
		if p.plan != nil && p.state != nil {
			delete(pending, name)
			if err := store.Receive(name, p.plan, p.state); err != nil {
				return err
			}
		}
	}
	if len(pending) > 0 {
		return refused("unit(s) %s came without their plan or their state", strings.Join(slices.Sorted(maps.Keys(pending)), ", "))
	}
	return nil
}

// cat copies a mirror's history or one of its unit logs to Stdout.
func (g *Gate) cat(p string) error {
	rel, ok := strings.CutPrefix(p, filepath.Join(g.Home, MirrorsDir)+"/")
	parts := strings.Split(rel, "/")
	okPath := ok && strings.HasSuffix(parts[0], ".git")
	for _, e := range parts {
		okPath = okPath && oneElement(e)
	}
	m := filepath.Join(g.Home, MirrorsDir, parts[0])
	switch {
	case okPath && p == layout.History(m):
	case okPath && filepath.Dir(p) == layout.LogsDir(m) && strings.HasSuffix(p, ".log"):
	default:
		return refused("only a mirror's history and unit logs can be read")
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(g.Stdout, f)
	return err
}

// execv replaces the process with program (found in PATH) and args.
func execv(program string, args []string) error {
	path, err := exec.LookPath(program)
	if err != nil {
		return fmt.Errorf("%s not found: %v", program, err)
	}
	return syscall.Exec(path, append([]string{program}, args...), os.Environ())
}

// Words splits a command line of hookrun's (or git's) quoting into its
// words: words are separated by single spaces and made of plain characters
// (letters, digits and _ @ % + = : , . / -) and single-quoted strings, with
// \' and \! between quoted parts (as git and internal/job quote a single
// quote). Anything a shell would treat specially — other quotes, $, `,
// ;, |, &, redirections, globs, a newline — is an error.
func Words(line string) ([]string, error) {
	if line == "" {
		return nil, errors.New("empty command")
	}
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ':
			if !inWord {
				return nil, fmt.Errorf("extra space at byte %d", i)
			}
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
			continue
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && i+1 < len(line) && (line[i+1] == '\'' || line[i+1] == '!'):
			cur.WriteByte(line[i+1])
			i++
		case plain(c):
			cur.WriteByte(c)
		default:
			return nil, fmt.Errorf("character %q at byte %d", c, i)
		}
		inWord = true
	}
	if !inWord {
		return nil, errors.New("trailing space")
	}
	return append(words, cur.String()), nil
}

func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0
}
