// Command refstart is the floor hookrun is measured against: a minimal
// post-receive hook that reads git's ref lines, opens one raw D-Bus
// connection to the user manager's private socket
// ($XDG_RUNTIME_DIR/systemd/private, EXTERNAL auth, no Hello) and calls
// org.freedesktop.systemd1.Manager.StartTransientUnit once per unit with
// properties comparable to hookrun's (Description, Type, ExecStart,
// ExecStopPost, TimeoutStopUSec, CollectMode, SyslogIdentifier,
// WorkingDirectory, Environment). It parses no config, matches nothing,
// saves no plan and prints nothing: it only connects and starts units.
//
// Flags: -jobs N units per ref (per=ref) or per push (per=push); -per
// ref|push; -pipelined every call sent before the first answer is read;
// -batch one call for every unit, as hookrun makes; -exec the units'
// command (default /bin/true; the benchmark also
// runs it with the hookrun binary, so that the units weigh on the manager
// and the CPUs as hookrun's own `hookrun exec`/`hookrun notify` do). With
// -jobs 0 it reads the ref lines and exits without connecting: the cost of
// any static Go program as a hook, which a push matching no rule pays. The
// defaults (1 job per ref) make it usable as hooks/post-receive
// through a symlink.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	godbus "github.com/godbus/dbus/v5"
)

// pipelined: -pipelined; calls are the start calls sent and not yet
// answered. batch: -batch; batched are the units its one call starts.
var (
	pipelined bool
	calls     []*godbus.Call
	batch     bool
	batched   []auxUnit
)

type property struct {
	Name  string
	Value godbus.Variant
}

type auxUnit struct {
	Name  string
	Props []property
}

type execCommand struct {
	Path          string
	Args          []string
	IgnoreFailure bool
}

func main() {
	jobs := flag.Int("jobs", 1, "units per ref (per=ref) or per push (per=push)")
	per := flag.String("per", "ref", "ref or push")
	execLine := flag.String("exec", "/bin/true", "the units' ExecStart and ExecStopPost: an absolute path and arguments, space-separated")
	flag.BoolVar(&pipelined, "pipelined", false, "send every start call before waiting for the answers (the manager's own cost of a further unit)")
	flag.BoolVar(&batch, "batch", false, "start every unit with one call, the first unit wanting the others, passed as its auxiliary units (as hookrun does)")
	flag.Parse()
	argv := strings.Fields(*execLine)
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		fmt.Fprintln(os.Stderr, "refstart: -exec wants an absolute path")
		os.Exit(2)
	}
	if err := run(*jobs, *per, execCommand{Path: argv[0], Args: argv}); err != nil {
		fmt.Fprintln(os.Stderr, "refstart:", err)
		os.Exit(1)
	}
}

func run(jobs int, per string, cmd execCommand) (err error) {
	var refs [][]string // old, new, ref
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 {
			refs = append(refs, f)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(refs) == 0 || jobs == 0 {
		return nil // -jobs 0: the floor of a Go hook that reads its input and starts nothing
	}
	gitDir := os.Getenv("GIT_DIR")
	if gitDir == "" {
		gitDir = "."
	}
	repoPath, err := filepath.Abs(gitDir)
	if err != nil {
		return err
	}
	repo := strings.TrimSuffix(filepath.Base(repoPath), ".git")

	conn, err := godbus.Dial("unix:path=" + filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "systemd", "private"))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		return err
	}
	obj := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	start := func(job string, env []string) error {
		name := unitName(job, repo)
		env = append(env, "HOOKRUN_JOB="+job, "HOOKRUN_UNIT="+name, "HOOKRUN_REPO="+repo, "HOOKRUN_REPO_PATH="+repoPath, "HOOKRUN_ACTIVE=1")
		props := []property{
			{"Description", godbus.MakeVariant("git " + job + " " + repo)},
			{"Type", godbus.MakeVariant("exec")},
			{"ExecStart", godbus.MakeVariant([]execCommand{cmd})},
			{"ExecStopPost", godbus.MakeVariant([]execCommand{cmd})},
			{"TimeoutStopUSec", godbus.MakeVariant(uint64(2 * time.Minute / time.Microsecond))},
			{"CollectMode", godbus.MakeVariant("inactive-or-failed")},
			{"SyslogIdentifier", godbus.MakeVariant("refstart")},
			{"WorkingDirectory", godbus.MakeVariant(repoPath)},
			{"Environment", godbus.MakeVariant(env)},
		}
		if batch {
			batched = append(batched, auxUnit{Name: name, Props: props})
			return nil
		}
		if pipelined {
			calls = append(calls, obj.Go("org.freedesktop.systemd1.Manager.StartTransientUnit", 0, nil,
				name, "fail", props, []auxUnit{}))
			return nil
		}
		return obj.Call("org.freedesktop.systemd1.Manager.StartTransientUnit", 0,
			name, "fail", props, []auxUnit{}).Err
	}
	defer func() {
		if len(batched) > 0 && err == nil {
			first, aux := batched[0], batched[1:]
			wants := make([]string, len(aux))
			for i, a := range aux {
				wants[i] = a.Name
			}
			if len(wants) > 0 {
				first.Props = append(first.Props, property{"Wants", godbus.MakeVariant(wants)})
			}
			err = obj.Call("org.freedesktop.systemd1.Manager.StartTransientUnit", 0, first.Name, "fail", first.Props, append([]auxUnit{}, aux...)).Err
		}
		for _, c := range calls {
			<-c.Done
			if c.Err != nil && err == nil {
				err = c.Err
			}
		}
	}()
	if per == "push" {
		lines := make([]string, len(refs))
		for i, r := range refs {
			lines[i] = strings.Join(r, " ")
		}
		for j := 0; j < jobs; j++ {
			if err := start(jobName(j), []string{"HOOKRUN_REFS=" + strings.Join(lines, "\n")}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range refs {
		for j := 0; j < jobs; j++ {
			env := []string{"HOOKRUN_REF=" + r[2], "HOOKRUN_OLD=" + r[0], "HOOKRUN_NEW=" + r[1],
				"HOOKRUN_BRANCH=" + strings.TrimPrefix(r[2], "refs/heads/")}
			if err := start(jobName(j), env); err != nil {
				return err
			}
		}
	}
	return nil
}

func jobName(j int) string { return string(rune('a' + j)) }

// unitName is git-<job>-<repo>-<YYYYMMDD-HHMMSS>-<8 random hex>.service.
func unitName(job, repo string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "git-" + job + "-" + repo + "-" + time.Now().Format("20060102-150405") + "-" + hex.EncodeToString(b[:]) + ".service"
}
