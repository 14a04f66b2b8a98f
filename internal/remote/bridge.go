// Package remote reaches the systemd user manager of another host over the
// operator's own ssh: `ssh -xT [ssh_options] DEST systemd-stdio-bridge
// --bus-path=unix:path=RUNTIME_DIR/systemd/private` carries a plain D-Bus
// connection (EXTERNAL auth, no Hello) to the remote user's manager, which
// internal/runner's systemd starter then drives exactly as it drives the
// local one (runner.NewSystemd).
//
// Upstream `systemd-run -H` cannot do this: it refuses --user with -H and
// takes no ssh options. And on systemd 252 `systemd-stdio-bridge --user`
// silently bridges to the system bus, so the bus path is always explicit.
//
// A Bridge owns one ssh process; everything started over it shares that
// one connection. Units started over it keep running when ssh dies: they
// belong to the remote manager.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/runner"
)

// Host is one [hosts.NAME] entry, resolved: how to reach the host and what
// runs there.
type Host struct {
	Name       string   // the config's NAME, for messages
	SSH        string   // ssh destination, e.g. "builder@buildhost"
	SSHOptions []string // extra ssh arguments, before the destination
	// RuntimeDir is the remote user's XDG_RUNTIME_DIR; empty means
	// /run/user/UID of the remote user, discovered with `id -u`.
	RuntimeDir string
	// Hookrun is the path of the hookrun binary on the host; empty means
	// "hookrun" from the remote PATH.
	Hookrun string
}

// ConnectTimeout bounds ssh's TCP connect and handshake (ssh's own
// ConnectTimeout, also passed to every ssh hookrun runs for a host).
const ConnectTimeout = 10 * time.Second

// ErrUnreachable is matched (errors.Is) by every failure to reach a host's
// manager (ssh could not connect or authenticate, the bridge or the manager
// is missing), as is runner.ErrManagerUnreachable.
var ErrUnreachable = errors.New("host unreachable")

// UnreachableError says which host could not be reached and why.
type UnreachableError struct {
	Host string // the [hosts.NAME] name
	Dest string // its ssh destination
	Msg  string // what went wrong and what to do
	// Reached: ssh worked; what failed is on the host (its user manager,
	// or systemd-stdio-bridge), not the network or ssh.
	Reached bool
}

func (e *UnreachableError) Error() string {
	if e.Reached {
		return fmt.Sprintf("host %s (%s) reached over ssh, but not its user manager: %s", e.Host, e.Dest, e.Msg)
	}
	return fmt.Sprintf("host %s (%s) unreachable: %s", e.Host, e.Dest, e.Msg)
}

// Is makes errors.Is match ErrUnreachable and runner.ErrManagerUnreachable.
func (e *UnreachableError) Is(target error) bool {
	return target == ErrUnreachable || target == runner.ErrManagerUnreachable
}

func (h *Host) unreachable(format string, args ...any) error {
	return &UnreachableError{Host: h.Name, Dest: h.SSH, Msg: fmt.Sprintf(format, args...)}
}

// Check reports what is wrong with h's ssh destination and options, the
// same rules as forward-build's host: no leading '-', no white space or
// control characters, no ':' or '/' (ports and IPv6 go in ssh_options or
// ~/.ssh/config), and no NUL in any option.
func (h *Host) Check() error {
	d := h.SSH
	switch {
	case d == "":
		return fmt.Errorf("host %s: no ssh destination", h.Name)
	case strings.HasPrefix(d, "-"):
		return fmt.Errorf("host %s: ssh destination %q starts with '-': refusing it (ssh would read it as an option)", h.Name, d)
	case strings.ContainsFunc(d, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Errorf("host %s: ssh destination %q contains white space or control characters", h.Name, d)
	case strings.ContainsAny(d, "/:"):
		return fmt.Errorf("host %s: ssh destination %q contains '/' or ':'; name a host (user@host), and put a port or an IPv6 address in ~/.ssh/config or ssh_options", h.Name, d)
	}
	for _, o := range h.SSHOptions {
		if strings.ContainsRune(o, 0) {
			return fmt.Errorf("host %s: ssh option %q contains a NUL byte", h.Name, o)
		}
	}
	if strings.ContainsRune(h.RuntimeDir, 0) || strings.ContainsRune(h.Hookrun, 0) {
		return fmt.Errorf("host %s: runtime_dir or hookrun contains a NUL byte", h.Name)
	}
	return nil
}

// SSHCommand is the ssh argv that runs the remote command line on h:
// ssh [SSHOptions...] -o BatchMode=yes -o ConnectTimeout=10 -xT -- DEST line.
// The host's own options come first: ssh keeps the first value it sees.
func (h *Host) SSHCommand(line string) []string {
	return append(h.sshBase(), "--", h.SSH, line)
}

// sshBase is the ssh command without destination, for GIT_SSH_COMMAND too.
func (h *Host) sshBase() []string {
	argv := append([]string{"ssh"}, h.SSHOptions...)
	return append(argv, "-o", "BatchMode=yes", "-o", "ConnectTimeout="+strconv.Itoa(int(ConnectTimeout/time.Second)), "-x", "-T")
}

// SSHBase is the ssh command (program and options, no destination) that
// reaches h, for GIT_SSH_COMMAND.
func (h *Host) SSHBase() []string { return h.sshBase() }

// Output runs argv on h over ssh (each word quoted) and returns its standard
// output. A failure of ssh itself (status 255) wraps ErrUnreachable.
func (h *Host) Output(ctx context.Context, argv ...string) ([]byte, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	ssh := h.SSHCommand(job.QuoteArgs(argv))
	cmd := exec.CommandContext(ctx, ssh[0], ssh[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err != nil {
		return stdout.Bytes(), h.sshError(strings.Join(argv, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// sshError explains a failed ssh run of what.
func (h *Host) sshError(what string, err error, stderr string) error {
	msg := lastLine(stderr)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 255 {
		if msg == "" {
			msg = "ssh exited with status 255"
		}
		return h.unreachable("%s", msg)
	}
	if errors.Is(err, exec.ErrNotFound) {
		return h.unreachable("ssh not found here: install an OpenSSH client (apt-get install openssh-client)")
	}
	if msg != "" {
		return fmt.Errorf("host %s: %s: %v: %s", h.Name, what, err, msg)
	}
	return fmt.Errorf("host %s: %s: %v", h.Name, what, err)
}

// lastLine is the last non-empty line of s, trimmed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// DiscoverRuntimeDir returns h.RuntimeDir, or /run/user/UID with UID from
// `id -u` run on h.
func (h *Host) DiscoverRuntimeDir(ctx context.Context) (string, error) {
	if h.RuntimeDir != "" {
		return h.RuntimeDir, nil
	}
	out, err := h.Output(ctx, "id", "-u")
	if err != nil {
		return "", err
	}
	uid := strings.TrimSpace(string(out))
	if n, err := strconv.Atoi(uid); err != nil || n < 0 {
		return "", fmt.Errorf("host %s: `id -u` printed %q, not a uid", h.Name, uid)
	}
	return "/run/user/" + uid, nil
}

// Bridge is one ssh connection to a host's user manager.
type Bridge struct {
	host    *Host
	runtime string
	cmd     *exec.Cmd
	stderr  *tailBuffer
	conn    *godbus.Conn
	done    chan struct{} // closed when ssh has exited
	once    sync.Once
}

// BusPath is the D-Bus address of the user manager's private socket under
// runtimeDir, as systemd-stdio-bridge --bus-path takes it.
func BusPath(runtimeDir string) string {
	return "unix:path=" + strings.TrimSuffix(runtimeDir, "/") + "/systemd/private"
}

// bridges counts the bridges Dial opened in this process.
var bridges atomic.Int64

// BridgesOpened is how many bridges (ssh connections to a manager) this
// process has opened, for tests and benchmarks that check sharing.
func BridgesOpened() int64 { return bridges.Load() }

// Dial starts the bridge to h's user manager and authenticates (EXTERNAL,
// with the uid the bridge runs as: the manager checks the bridge's socket
// credentials). ctx bounds the set-up only; the bridge lives until Close or
// until ssh dies. Failures to connect wrap ErrUnreachable and say what to do.
func Dial(ctx context.Context, h *Host) (*Bridge, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	runtime, err := h.DiscoverRuntimeDir(ctx)
	if err != nil {
		return nil, err
	}
	line := job.QuoteArgs([]string{"systemd-stdio-bridge", "--bus-path=" + BusPath(runtime)})
	ssh := h.SSHCommand(line)
	cmd := exec.Command(ssh[0], ssh[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	b := &Bridge{host: h, runtime: runtime, cmd: cmd, stderr: &tailBuffer{max: 4096}, done: make(chan struct{})}
	cmd.Stderr = b.stderr
	// Its own process group: a ^C to the hook does not reach ssh before
	// hookrun has finished with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, h.unreachable("start ssh: %v", err)
	}
	bridges.Add(1)
	go func() { _ = cmd.Wait(); close(b.done) }()

	rwc := &pipe{r: stdout, w: stdin, close: b.kill}
	type result struct {
		conn *godbus.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		conn, err := godbus.NewConn(rwc)
		if err == nil {
			// No uid: the manager takes the peer credentials of
			// the bridge's socket, which are the remote user's.
			err = conn.Auth([]godbus.Auth{godbus.AuthExternal("")})
			if err != nil {
				conn.Close()
			}
		}
		ch <- result{conn, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			// Let ssh end by itself first: its status and the
			// remote side's last words say what went wrong.
			select {
			case <-b.done:
			case <-time.After(2 * time.Second):
				b.kill()
				<-b.done
			}
			return nil, b.dialError(r.err)
		}
		b.conn = r.conn
		return b, nil
	case <-ctx.Done():
		b.kill()
		<-b.done
		return nil, h.unreachable("no answer from systemd-stdio-bridge: %v", ctx.Err())
	}
}

// dialError explains why the bridge did not come up, from ssh's status
// and the remote side's last words.
func (b *Bridge) dialError(err error) error {
	msg := lastLine(b.stderr.String())
	code := -1
	if b.cmd.ProcessState != nil {
		code = b.cmd.ProcessState.ExitCode()
	}
	h := b.host
	reached := func(err error) error { err.(*UnreachableError).Reached = true; return err }
	switch {
	case strings.Contains(msg, "Failed to start bus client"):
		return reached(h.unreachable("no user manager at %s: %s (enable lingering there: loginctl enable-linger USER, or set runtime_dir)", BusPath(b.runtime), msg))
	case code == 127 || strings.Contains(msg, "not found"):
		return reached(h.unreachable("systemd-stdio-bridge not found there: install systemd on the host"))
	case code == 255:
		return h.unreachable("%s (check the destination, ssh_options and the key)", msg)
	case msg != "":
		return reached(h.unreachable("systemd-stdio-bridge failed: %s", msg))
	}
	return h.unreachable("D-Bus over ssh: %v", err)
}

// Conn is the authenticated connection to the remote manager.
// CallError explains a failed call over the bridge. When the bridge's ssh
// has ended (it is given a moment to), the call failed because the
// connection did, and the error says which part: the network or ssh
// (ssh's status 255 and its last words), or the host's side (the manager
// or the bridge ended: Reached, so its history can be read at once). A
// call that failed with the connection still up is returned as it is.
// godbus alone would say "connection closed by user" for all of these.
func (b *Bridge) CallError(err error) error {
	select {
	case <-b.done:
	case <-time.After(time.Second):
		return err
	}
	h, msg := b.host, lastLine(b.stderr.String())
	code := b.cmd.ProcessState.ExitCode()
	switch {
	case code == 255 && msg != "":
		return h.unreachable("the ssh connection dropped: %s (the network, or sshd on the host)", msg)
	case code == 255:
		return h.unreachable("the ssh connection dropped (the network, or sshd on the host)")
	case code < 0:
		return h.unreachable("ssh was killed: %v", b.cmd.ProcessState)
	}
	ue := h.unreachable("the host's user manager closed the connection (stopped, or the host shutting down)").(*UnreachableError)
	if msg != "" {
		ue.Msg += ": " + msg
	}
	ue.Reached = true
	return ue
}

func (b *Bridge) Conn() *godbus.Conn { return b.conn }

// RuntimeDir is the remote user's runtime directory the bridge uses.
func (b *Bridge) RuntimeDir() string { return b.runtime }

// Done is closed when the ssh process has exited (contact lost or Close).
func (b *Bridge) Done() <-chan struct{} { return b.done }

// PID is the ssh process's id.
func (b *Bridge) PID() int { return b.cmd.Process.Pid }

// Stderr is what ssh and the remote bridge printed last (up to 4 KiB).
func (b *Bridge) Stderr() string { return b.stderr.String() }

// kill ends ssh (its process group).
func (b *Bridge) kill() error {
	b.once.Do(func() {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
	})
	return nil
}

// Close closes the connection and ends ssh. Units started keep running.
func (b *Bridge) Close() error {
	if b.conn != nil {
		b.conn.Close()
	}
	b.kill()
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
	}
	return nil
}

// Systemd wraps the bridge as internal/runner's systemd starter for the
// remote user manager, whose units run `self exec PLAN` (self: the hookrun
// path on the host). Closing it closes the bridge.
func (b *Bridge) Systemd(self string) (*runner.Systemd, error) {
	return runner.NewSystemd(b.conn, "user", "ssh://"+b.host.SSH+BusPath(b.runtime), self)
}

// pipe joins ssh's stdout and stdin into one io.ReadWriteCloser.
type pipe struct {
	r     io.Reader
	w     io.WriteCloser
	close func() error
}

func (p *pipe) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipe) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipe) Close() error {
	p.w.Close()
	return p.close()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// StopUnit stops the unit name on h's user manager over a bridge of its
// own, and returns once the stop job is queued. A unit the manager no longer
// knows is not an error.
func StopUnit(ctx context.Context, h *Host, name string) error {
	b, err := Dial(ctx, h)
	if err != nil {
		return err
	}
	sd, err := b.Systemd("hookrun")
	if err != nil {
		b.Close()
		return err
	}
	defer func() { sd.Close(); b.Close() }()
	if err := sd.StopUnit(ctx, name); err != nil && !errors.Is(err, runner.ErrNoSuchUnit) {
		return err
	}
	return nil
}
