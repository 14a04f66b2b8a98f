package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/plan"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEndpoints(t *testing.T) {
	cases := []struct {
		name    string
		manager string
		env     map[string]string
		euid    int
		want    string // addresses, hello marked with "+hello"
	}{
		{"user private socket", "user", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, 1000,
			"unix:path=/run/user/1000/systemd/private"},
		{"user other runtime dir", "user", map[string]string{"XDG_RUNTIME_DIR": "/tmp/x y"}, 1000,
			"unix:path=/tmp/x%20y/systemd/private unix:path=/run/user/1000/systemd/private"},
		{"user no XDG_RUNTIME_DIR (git-shell)", "user", nil, 1000,
			"unix:path=/run/user/1000/systemd/private"},
		{"user session bus first", "", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus", "XDG_RUNTIME_DIR": "/run/user/1000"}, 1000,
			"unix:path=/run/user/1000/bus+hello unix:path=/run/user/1000/systemd/private"},
		{"system as root", "system", nil, 0,
			"unix:path=/run/systemd/private unix:path=/run/dbus/system_bus_socket+hello"},
		{"system not root", "system", map[string]string{"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/b"}, 1000,
			"unix:path=/b+hello"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eps, err := endpoints(tc.manager, envMap(tc.env), 1000, tc.euid)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ep := range eps {
				s := ep.address
				if ep.hello {
					s += "+hello"
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got  %s\nwant %s", strings.Join(got, " "), tc.want)
			}
		})
	}
	if _, err := endpoints("session", envMap(nil), 0, 0); err == nil || !strings.Contains(err.Error(), `"session"`) {
		t.Errorf("unknown manager: err = %v", err)
	}
	for _, m := range plan.Managers() { // every manager a plan may name is reachable somehow
		if eps, err := endpoints(string(m), envMap(nil), 1000, 0); err != nil || len(eps) == 0 {
			t.Errorf("manager %q: endpoints %v, %v", m, eps, err)
		}
	}
}

func TestEscapeAddressValue(t *testing.T) {
	for in, want := range map[string]string{
		"/run/user/0/systemd/private": "/run/user/0/systemd/private",
		"/tmp/a b;c=d,é":              "/tmp/a%20b%3bc%3dd%2c%c3%a9",
	} {
		if got := escapeAddressValue(in); got != want {
			t.Errorf("escapeAddressValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCallErrorByName(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{&godbus.Error{Name: "org.freedesktop.systemd1.UnitExists", Body: []any{"Unit x.service was already loaded"}}, ErrUnitExists},
		{godbus.Error{Name: "org.freedesktop.systemd1.UnitExists"}, ErrUnitExists},
		{&godbus.Error{Name: "org.freedesktop.systemd1.NoSuchUnit"}, ErrNoSuchUnit},
		{fmt.Errorf("x: %w", &godbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}), ErrManagerUnreachable},
		{godbus.ErrClosed, ErrManagerUnreachable},
	}
	for _, tc := range cases {
		got := callError("start x.service", tc.err)
		var orig error = tc.err
		if _, isValue := tc.err.(godbus.Error); isValue {
			orig = nil // not comparable: errors.Is cannot find it
		}
		if !errors.Is(got, tc.want) || orig != nil && !errors.Is(got, orig) {
			t.Errorf("callError(%v) = %v: want it to wrap %v and the original", tc.err, got, tc.want)
		}
	}
	// Recognised by name, never by text.
	got := callError("start", errors.New("Unit x.service was already loaded or has a fragment file."))
	if errors.Is(got, ErrUnitExists) {
		t.Errorf("a plain error mentioning 'already loaded' was taken for UnitExists")
	}
}

func TestDialSystemdUnreachable(t *testing.T) {
	dir := t.TempDir()
	xdg := filepath.Join(dir, "run")
	env := envMap(map[string]string{"XDG_RUNTIME_DIR": xdg, "USER": "git"})
	_, err := DialSystemd(context.Background(), "user", env)
	if err == nil {
		if _, statErr := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/systemd/private"); statErr == nil {
			t.Skip("a real user manager answers at /run/user/UID")
		}
		t.Fatal("DialSystemd succeeded without a manager")
	}
	if !errors.Is(err, ErrManagerUnreachable) {
		t.Errorf("error does not wrap ErrManagerUnreachable: %v", err)
	}
	var ue *UnreachableError
	if !errors.As(err, &ue) || len(ue.Tried) == 0 {
		t.Fatalf("error is not an *UnreachableError with attempts: %#v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"systemd user manager",
		filepath.Join(xdg, "systemd", "private"),
		"/run/user/" + strconv.Itoa(os.Getuid()) + "/systemd/private",
		"no such socket",
		"loginctl enable-linger git",
		"XDG_RUNTIME_DIR",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	t.Logf("message: %v", err)
}

func TestDialSystemdCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := DialSystemd(ctx, "user", envMap(map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}))
	if !errors.Is(err, ErrManagerUnreachable) || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("err = %v", err)
	}
}

func TestUnixPath(t *testing.T) {
	for _, tc := range []struct{ address, want string }{
		{"unix:path=/run/user/1000/bus", "/run/user/1000/bus"},
		{"unix:path=/tmp/x%20y/systemd/private", "/tmp/x y/systemd/private"},
		{"unix:path=/run/user/1000/bus,guid=0123", "/run/user/1000/bus"},
		{"unix:guid=0123,path=/b", "/b"},
		{"unix:abstract=/tmp/dbus-x", ""},
		{"unix:path=/a;unix:path=/b", ""}, // several: godbus tries them in turn
		{"tcp:host=localhost,port=1", ""},
		{"unix:path=%zz", ""},
		{"unix:path=", ""},
	} {
		if got := unixPath(tc.address); got != tc.want {
			t.Errorf("unixPath(%q) = %q, want %q", tc.address, got, tc.want)
		}
	}
	// The private sockets connect in the caller (StartDial).
	eps, _ := endpoints("user", envMap(map[string]string{"XDG_RUNTIME_DIR": "/tmp/x y"}), 1000, 1000)
	if eps[0].path != "/tmp/x y/systemd/private" {
		t.Errorf("private socket endpoint has path %q", eps[0].path)
	}
}

// listenUnix listens on a new socket in a temporary directory with the
// given backlog, and returns its path and file descriptor.
func listenUnix(t *testing.T, backlog int) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "private")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	return path, fd
}

// A socket whose backlog is full is left to Finish: the caller never waits.
func TestConnectNowFullBacklog(t *testing.T) {
	path, _ := listenUnix(t, 0)
	first, err := connectNow(path)
	if err != nil || first == nil {
		t.Fatalf("first connect: %v, %v", first, err)
	}
	defer first.Close()
	done := make(chan struct{})
	var c *net.UnixConn
	go func() {
		defer close(done)
		c, err = connectNow(path)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("connectNow waited on a full backlog")
	}
	if c != nil || err != nil {
		t.Errorf("full backlog: %v, %v; want nil, nil", c, err)
	}
	if _, err := connectNow(filepath.Join(t.TempDir(), "none")); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("missing socket: err = %v", err)
	}
}
