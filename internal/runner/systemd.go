package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/plan"
)

// D-Bus error names the runner recognises (never by message text).
const (
	errNameUnitExists     = "org.freedesktop.systemd1.UnitExists"
	errNameNoSuchUnit     = "org.freedesktop.systemd1.NoSuchUnit"
	errNameServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
)

// systemdConn is the part of go-systemd's *dbus.Conn the runner uses.
type systemdConn interface {
	StartTransientUnitContext(ctx context.Context, name, mode string, properties []sd.Property, ch chan<- string) (int, error)
	StartTransientUnitAux(ctx context.Context, name, mode string, properties []sd.Property, aux []sd.PropertyCollection, ch chan<- string) (int, error)
	StopUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
	ResetFailedUnitContext(ctx context.Context, name string) error
	GetUnitTypePropertiesContext(ctx context.Context, unit, unitType string) (map[string]any, error)
	ListUnitsByPatternsContext(ctx context.Context, states, patterns []string) ([]sd.UnitStatus, error)
	Close()
}

var _ systemdConn = (*sd.Conn)(nil)

// Systemd starts units as transient services of one systemd manager over a
// single D-Bus connection, reused for every unit of a hook run.
type Systemd struct {
	// Self is the absolute path of the hookrun binary that units run as
	// ExecStart (`Self exec PLAN`) and ExecStopPost (`Self notify PLAN`).
	// DialSystemd sets it from os.Executable; tests may replace it.
	Self string

	manager string // "user" or "system"
	address string // the D-Bus address connected to
	conn    systemdConn

	// bus is the connection under conn (nil for a conn given by a test);
	// jobs is go-systemd's Conn over it, made by jobConn on the first call
	// that waits for a job's end.
	bus    *godbus.Conn
	jobsMu sync.Mutex
	jobs   systemdConn
	auth   *pipelinedAuth // StartDial's, under bus: no file descriptors cross it
}

// jobConn is a systemdConn whose job methods write the job's result to
// their channel: go-systemd's Conn (an AddMatch call and a signal
// dispatcher) over the same connection, made once.
func (s *Systemd) jobConn() (systemdConn, error) {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if _, ok := s.conn.(*busConn); !ok {
		return s.conn, nil // go-systemd's already, or a test's
	}
	if s.jobs == nil {
		c, err := sd.NewConnection(func() (*godbus.Conn, error) { return s.bus, nil })
		if err != nil {
			return nil, callError("listen for job signals", err)
		}
		s.jobs = c
	}
	return s.jobs, nil
}

// endpoint is one way to reach a manager.
type endpoint struct {
	address string // D-Bus address
	path    string // the socket's path, when address is a single unix:path=
	what    string // for messages: a socket path or "session bus (...)"
	hello   bool   // a message bus (Hello needed) rather than a private socket
}

// DialSystemd connects to the systemd "user" or "system" manager, looking
// variables up with env (os.Getenv in production).
//
// The user manager is reached through $DBUS_SESSION_BUS_ADDRESS if set (a
// bus: EXTERNAL auth, then Hello), else its private socket
// $XDG_RUNTIME_DIR/systemd/private, else /run/user/<uid>/systemd/private
// (private sockets: EXTERNAL auth, no Hello); each later candidate is also
// tried when an earlier one fails. The system manager is reached through
// /run/systemd/private when running as root, else through the system bus.
// go-systemd's NewUserConnectionContext is never used: without a bus it may
// launch dbus-launch.
//
// One socket is dialled and authenticated, and the manager's methods are
// called on it directly (busConn): go-systemd's NewConnection would dial
// twice and make an AddMatch call, a round trip before the first start that
// a hook, never waiting for a job's signals, does not need. RunSync, which
// waits for its jobs, adds go-systemd's signal side on the same socket. ctx
// bounds the dial and the life of the connection: when ctx ends the
// connection closes.
//
// When no candidate answers, the error is an *UnreachableError, which names
// every address tried and the fix, and wraps ErrManagerUnreachable.
func DialSystemd(ctx context.Context, manager string, env func(string) string) (*Systemd, error) {
	return newDialing(manager, env).Finish(ctx)
}

// Dialing is a connection to a manager being made: StartDial has connected
// its first candidate's socket, Finish does the rest.
type Dialing struct {
	manager  string
	env      func(string) string
	eps      []endpoint
	err      error         // from endpoints
	first    *net.UnixConn // eps[0]'s socket, connected by StartDial
	firstErr error         // or why it could not be
}

// StartDial begins dialling manager for a hook's starts, as DialSystemd
// does, only sooner. It connects the first candidate's socket in the
// caller and writes the authentication on it in one go (pipelinedAuth),
// which takes microseconds, so that the manager sets the connection up
// and authenticates it (its first answer takes a millisecond or two)
// while the caller goes on; Finish reads that answer, or tries the other
// candidates. The caller never waits here: a socket whose backlog is full
// is left to Finish. Every Dialing must be finished.
//
// The connection passes no file descriptors: RunSync needs DialSystemd's.
func StartDial(manager string, env func(string) string) *Dialing {
	d := newDialing(manager, env)
	if d.err == nil && len(d.eps) > 0 && d.eps[0].path != "" {
		d.first, d.firstErr = connectNow(d.eps[0].path)
	}
	return d
}

func newDialing(manager string, env func(string) string) *Dialing {
	if env == nil {
		env = os.Getenv
	}
	d := &Dialing{manager: manager, env: env}
	d.eps, d.err = endpoints(manager, env, os.Getuid(), os.Geteuid())
	return d
}

// Finish completes the dial StartDial began; see DialSystemd. ctx bounds
// the dial and the life of the connection.
func (d *Dialing) Finish(ctx context.Context) (*Systemd, error) {
	if d.err != nil {
		return nil, d.err
	}
	first := d.first
	d.first = nil
	self, err := os.Executable()
	if err != nil {
		if first != nil {
			first.Close()
		}
		return nil, fmt.Errorf("locate the hookrun binary: %w", err)
	}
	ue := &UnreachableError{Manager: d.manager}
	for i, ep := range d.eps {
		var pre *net.UnixConn
		if i == 0 && d.firstErr != nil {
			ue.Tried = append(ue.Tried, Attempt{ep.what, dialError(d.firstErr)})
			continue
		}
		if i == 0 {
			pre = first // nil: not tried, dialled the usual way
		}
		if err := ctx.Err(); err != nil {
			if pre != nil {
				pre.Close()
			}
			ue.Tried = append(ue.Tried, Attempt{ep.what, err})
			break
		}
		raw, pa, err := dialEndpoint(ctx, ep, pre)
		if err != nil {
			ue.Tried = append(ue.Tried, Attempt{ep.what, dialError(err)})
			continue
		}
		// Method calls only (busConn): no AddMatch round trip before the
		// first start. RunSync adds go-systemd's job signals (jobConn).
		return &Systemd{Self: self, manager: d.manager, address: ep.address, conn: newBusConn(raw), bus: raw, auth: pa}, nil
	}
	ue.Hint = unreachableHint(d.manager, d.env)
	return nil, ue
}

// connectNow connects a unix stream socket to path without waiting, and
// writes the authentication (pipelinedAuth) on it: it returns (nil, nil)
// when that cannot complete at once (the listener's backlog is full), for
// the caller to dial the usual way.
func connectNow(path string) (*net.UnixConn, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil
	}
	err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: path})
	if err == syscall.EAGAIN || err == syscall.EINPROGRESS || err == syscall.EINTR {
		syscall.Close(fd)
		return nil, nil
	}
	if err != nil {
		syscall.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"}, Err: os.NewSyscallError("connect", err)}
	}
	// The authentication goes out with the connect (pipelinedAuth): a
	// few bytes into an empty socket buffer, written whole.
	if auth := authLines(os.Getuid()); !writeAll(fd, auth) {
		syscall.Close(fd)
		return nil, nil
	}
	f := os.NewFile(uintptr(fd), path)
	c, err := net.FileConn(f) // a dup, registered with the poller
	f.Close()
	if err != nil {
		return nil, nil
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, nil
	}
	return uc, nil
}

// NewSystemd wraps conn, an authenticated connection to a manager's private
// socket (no Hello: a private socket is no bus), as a starter for that
// manager — e.g. a remote user manager reached over ssh. manager is "user"
// or "system", address names the connection in messages, and self is the
// hookrun binary's path where the manager runs its units. Closing the
// Systemd closes conn.
func NewSystemd(conn *godbus.Conn, manager, address, self string) (*Systemd, error) {
	c, err := sd.NewConnection(func() (*godbus.Conn, error) { return conn, nil })
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("systemd %s manager at %s: %w", manager, address, err)
	}
	return &Systemd{Self: self, manager: manager, address: address, conn: c}, nil
}

// endpoints lists, in order, the addresses at which manager may be reached.
func endpoints(manager string, env func(string) string, uid, euid int) ([]endpoint, error) {
	switch plan.Manager(manager) {
	case plan.ManagerUser, "":
		var eps []endpoint
		if a := env("DBUS_SESSION_BUS_ADDRESS"); a != "" {
			eps = append(eps, endpoint{address: a, path: unixPath(a), what: "session bus " + a, hello: true})
		}
		userRun := "/run/user/" + strconv.Itoa(uid)
		if xdg := env("XDG_RUNTIME_DIR"); xdg != "" && filepath.Clean(xdg) != userRun {
			eps = append(eps, privateSocket(filepath.Join(xdg, "systemd", "private")))
		}
		return append(eps, privateSocket(filepath.Join(userRun, "systemd", "private"))), nil
	case plan.ManagerSystem:
		var eps []endpoint
		if euid == 0 {
			eps = append(eps, privateSocket("/run/systemd/private"))
		}
		bus := env("DBUS_SYSTEM_BUS_ADDRESS")
		if bus == "" {
			bus = "unix:path=/run/dbus/system_bus_socket"
		}
		return append(eps, endpoint{address: bus, what: "system bus " + bus, hello: true}), nil
	}
	return nil, fmt.Errorf("unknown systemd manager %q (want \"user\" or \"system\")", manager)
}

func privateSocket(path string) endpoint {
	return endpoint{address: "unix:path=" + escapeAddressValue(path), path: path, what: path}
}

// kickAfter is when a connection whose first call went out with its
// authentication sends the manager a few more bytes (pipelinedAuth).
// A start answers in milliseconds: a hook still waiting then is rare.
const kickAfter = 100 * time.Millisecond

// writeAll writes b on fd in one write, reporting whether it all went.
func writeAll(fd int, b []byte) bool {
	n, err := syscall.Write(fd, b)
	return err == nil && n == len(b)
}

// unixPath is the socket path of a D-Bus address that is one
// "unix:path=..." (other keys, such as guid, ignored), else "".
func unixPath(address string) string {
	rest, ok := strings.CutPrefix(address, "unix:")
	if !ok || strings.Contains(rest, ";") {
		return ""
	}
	for kv := range strings.SplitSeq(rest, ",") {
		if v, ok := strings.CutPrefix(kv, "path="); ok {
			p, err := url.PathUnescape(v)
			if err != nil || p == "" {
				return ""
			}
			return p
		}
	}
	return ""
}

// escapeAddressValue escapes a D-Bus address value: bytes outside
// [-0-9A-Za-z_/.\*] become %XX (as systemd's bus_address_escape does).
func escapeAddressValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-_/.\\*", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// dialEndpoint connects and authenticates (EXTERNAL, by uid: no user-name
// lookup); on a bus it also says Hello.
func dialEndpoint(ctx context.Context, ep endpoint, pre *net.UnixConn) (*godbus.Conn, *pipelinedAuth, error) {
	var conn *godbus.Conn
	var pa *pipelinedAuth
	var err error
	if pre != nil {
		pa = newPipelinedAuth(pre)
		if pa.early = !ep.hello; !pa.early {
			if err := pa.awaitOK(ctx); err != nil {
				pre.Close()
				return nil, nil, err
			}
		}
		conn, err = godbus.NewConn(pa, godbus.WithContext(ctx))
	} else {
		conn, err = godbus.Dial(ep.address, godbus.WithContext(ctx))
	}
	if err != nil {
		if pre != nil {
			pre.Close()
		}
		return nil, nil, err
	}
	if err := conn.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("authenticate: %w", err)
	}
	if pa != nil && pa.early {
		// The kick (pipelinedAuth): a call still unanswered then gets more
		// bytes after it, a ping that wants no answer. (Armed after Auth,
		// whose dialogue the ping must follow.)
		time.AfterFunc(kickAfter, func() {
			if conn.Connected() {
				conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").Go("org.freedesktop.DBus.Peer.Ping", godbus.FlagNoReplyExpected, nil)
			}
		})
	}
	if ep.hello {
		if err := conn.Hello(); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("hello: %w", err)
		}
	}
	return conn, pa, nil
}

// dialError shortens the common ways a socket is missing (the net error
// repeats the path the message already names).
func dialError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return errors.New("no such socket")
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused (stale socket: the manager is not running)")
	case errors.Is(err, syscall.EACCES):
		return errors.New("permission denied")
	}
	return err
}

// Attempt is one address DialSystemd tried, and why it failed.
type Attempt struct {
	Address string // a socket path, or "session bus ADDRESS"
	Err     error
}

// UnreachableError reports that no systemd manager answered. It wraps
// ErrManagerUnreachable.
type UnreachableError struct {
	Manager string    // "user" or "system"
	Tried   []Attempt // in order
	Hint    string    // what to do about it, one sentence
}

func (e *UnreachableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot reach the systemd %s manager", e.Manager)
	for i, a := range e.Tried {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s: %v", sep, a.Address, a.Err)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " (fix: %s)", e.Hint)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrManagerUnreachable) true.
func (e *UnreachableError) Unwrap() error { return ErrManagerUnreachable }

func unreachableHint(manager string, env func(string) string) string {
	if plan.Manager(manager) == plan.ManagerSystem {
		return "run the hook as root, or let this user reach the system bus, or set runner = \"exec\""
	}
	name := env("USER")
	if name == "" {
		name = env("LOGNAME")
	}
	if name == "" {
		if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
			name = u.Username
		} else {
			name = strconv.Itoa(os.Getuid())
		}
	}
	return fmt.Sprintf("run `loginctl enable-linger %s` so the user manager runs without a login session, "+
		"or set XDG_RUNTIME_DIR to the runtime directory of a running user manager, or set runner = \"exec\"", name)
}

// Manager is "user" or "system".
func (s *Systemd) Manager() string { return s.manager }

// Address is the D-Bus address the connection uses.
func (s *Systemd) Address() string { return s.address }

// Start starts u as the transient service u.Name running `s.Self exec
// planPath` (see Properties), with job mode "fail". It returns when the
// manager has accepted the start job and never waits for the unit to run:
// the caller learns nothing about the job's outcome (ExecStopPost notifies).
// A name already loaded gives an error wrapping ErrUnitExists.
func (s *Systemd) Start(ctx context.Context, u *plan.Unit, planPath string) error {
	return s.StartAll(ctx, []*plan.Unit{u}, []string{planPath})
}

// StartAll starts units (all for s's manager; Start is StartAll of one)
// with one call: the first as the call's unit, the others as its
// auxiliary units, which the first wants (Wants=), so the one start
// transaction queues a start job for each. The manager's work for a unit
// is the same; the call's own (its message, its transaction, its answer)
// is paid once, which is some 40% of what a further unit of a push costs
// the manager (docs/PERFORMANCE.md).
//
// Nothing runs unless every unit was accepted: after an error answer no
// start job was queued and no unit of the call is left loaded
// (TestSystemdStartAllRefused), so the caller may start the units one by
// one (Start), which tells which one failed and why. An error that is not
// the manager's answer (the connection closed, ctx ended) leaves that
// unknown, as Start's does.
//
// Until the first unit is collected, the others stay loaded when they end
// (inactive, as a collected unit is to `hookrun status`): what it wants
// keeps them.
func (s *Systemd) StartAll(ctx context.Context, units []*plan.Unit, planPaths []string) error {
	if len(units) == 0 {
		return nil
	}
	if s.conn == nil {
		return fmt.Errorf("start %s: the connection to the %s manager is closed", units[0].Name, s.manager)
	}
	aux := make([]sd.PropertyCollection, 0, len(units)-1)
	wants := make([]string, 0, len(units)-1)
	for i, u := range units {
		if u.Manager != "" && u.Manager != plan.Manager(s.manager) {
			return fmt.Errorf("start %s: the unit wants the %s manager, connected to the %s manager", u.Name, u.Manager, s.manager)
		}
		if i > 0 {
			aux = append(aux, sd.PropertyCollection{Name: u.Name, Properties: Properties(u, s.Self, planPaths[i])})
			wants = append(wants, u.Name)
		}
	}
	props := Properties(units[0], s.Self, planPaths[0])
	if len(wants) > 0 {
		props = append(props, prop("Wants", wants))
	}
	if _, err := s.conn.StartTransientUnitAux(ctx, units[0].Name, "fail", props, aux, nil); err != nil {
		op := "start " + units[0].Name
		if len(aux) > 0 {
			op += fmt.Sprintf(" and %d more", len(aux))
		}
		return s.callError(op, err)
	}
	return nil
}

// Answered reports whether err is the manager's answer to a call (a D-Bus
// error reply), as opposed to a call that got none (the connection
// closed, the context ended, the early authentication refused).
func Answered(err error) bool {
	return dbusErrorName(err) != "" && !errors.Is(err, ErrEarlyAuth)
}

// StopUnit asks the manager to stop the unit name (job mode "replace") and
// returns once the stop job is queued, without waiting for the unit to stop;
// its ExecStopPost still runs (and notifies). A unit the manager does not
// know gives an error wrapping ErrNoSuchUnit.
func (s *Systemd) StopUnit(ctx context.Context, name string) error {
	if _, err := s.conn.StopUnitContext(ctx, name, "replace", nil); err != nil {
		return s.callError("stop "+name, err)
	}
	return nil
}

// Stop is StopUnit(h.Name), for the Starter interface.
func (s *Systemd) Stop(ctx context.Context, h Handle) error { return s.StopUnit(ctx, h.Name) }

// UnitProperties returns the properties of the unit name on the interface
// org.freedesktop.systemd1.<iface>: "Unit" (ActiveState, SubState,
// Description, ActiveEnterTimestamp, ...) or "Service" (Result,
// ExecMainStartTimestamp, ExecMainStatus, Environment, MemoryMax,
// CPUQuotaPerSecUSec, RuntimeMaxUSec, TasksMax, ...). Values have their D-Bus
// Go types (uint64 for t, []string for as, ...). A unit that is not loaded
// reads as LoadState "not-found" on "Unit".
func (s *Systemd) UnitProperties(ctx context.Context, name, iface string) (map[string]any, error) {
	props, err := s.conn.GetUnitTypePropertiesContext(ctx, name, iface)
	if err != nil {
		return nil, s.callError("read properties of "+name, err)
	}
	return props, nil
}

// Close closes the connection. Units already started keep running. It is
// safe to call more than once.
func (s *Systemd) Close() error {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if s.jobs != nil {
		s.jobs.Close() // the same connection: closing it twice is a no-op
		s.jobs = nil
	}
	return nil
}

// callError is callError, but a manager that refused the connection's
// early authentication (pipelinedAuth) says so: the calls waiting when
// it did may only have seen the connection close.
func (s *Systemd) callError(op string, err error) error {
	if s.auth != nil {
		if r := s.auth.refused(); r != nil {
			return fmt.Errorf("%s: %w", op, r)
		}
	}
	return callError(op, err)
}

// callError wraps a failed manager call with the sentinel matching its
// D-Bus error name.
func callError(op string, err error) error {
	name := dbusErrorName(err)
	switch {
	case name == errNameUnitExists:
		return fmt.Errorf("%s: %w: %w", op, ErrUnitExists, err)
	case name == errNameNoSuchUnit:
		return fmt.Errorf("%s: %w: %w", op, ErrNoSuchUnit, err)
	case name == errNameServiceUnknown, errors.Is(err, godbus.ErrClosed):
		return fmt.Errorf("%s: %w: %w", op, ErrManagerUnreachable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// dbusErrorName is the D-Bus error name carried by err, or "".
func dbusErrorName(err error) string {
	var pe *godbus.Error
	if errors.As(err, &pe) {
		return pe.Name
	}
	var ve godbus.Error
	if errors.As(err, &ve) {
		return ve.Name
	}
	return ""
}

// Unit is one of hookrun's units as the manager knows it, identified by the
// HOOKRUN_* environment hookrun gave it (identityVars: the only variables
// Properties puts in a unit), never by parsing its name.
type Unit struct {
	Name     string
	Repo     string // HOOKRUN_REPO
	RepoPath string // HOOKRUN_REPO_PATH
	Job      string // HOOKRUN_JOB
	Ref      string // HOOKRUN_REF
	New      string // HOOKRUN_NEW
	State    string // ActiveState/SubState
	Start    time.Time
}

// Units lists the loaded units that hookrun started (those whose environment
// carries HOOKRUN_JOB), with their state and start time.
func (s *Systemd) Units(ctx context.Context) ([]Unit, error) {
	list, err := s.conn.ListUnitsByPatternsContext(ctx, nil, []string{"git-*.service"})
	if err != nil {
		return nil, s.callError("list units", err)
	}
	var out []Unit
	for _, st := range list {
		props, err := s.conn.GetUnitTypePropertiesContext(ctx, st.Name, "Service")
		if err != nil {
			continue // gone meanwhile
		}
		env, _ := props["Environment"].([]string)
		u := Unit{Name: st.Name, State: st.ActiveState + "/" + st.SubState}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "HOOKRUN_REPO":
				u.Repo = v
			case "HOOKRUN_REPO_PATH":
				u.RepoPath = v
			case "HOOKRUN_JOB":
				u.Job = v
			case "HOOKRUN_REF":
				u.Ref = v
			case "HOOKRUN_NEW":
				u.New = v
			}
		}
		if u.Job == "" {
			continue // not ours
		}
		if us, ok := props["ExecMainStartTimestamp"].(uint64); ok && us > 0 {
			u.Start = time.UnixMicro(int64(us))
		}
		out = append(out, u)
	}
	return out, nil
}
