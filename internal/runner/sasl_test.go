package runner

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/plan"
)

// fakeManager accepts one connection on a private socket under a new
// runtime directory, as a manager would, and hands it to serve.
func fakeManager(t *testing.T, serve func(c *net.UnixConn)) (xdg string) {
	t.Helper()
	xdg = t.TempDir()
	if err := os.MkdirAll(filepath.Join(xdg, "systemd"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(xdg, "systemd", "private"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		serve(c)
	}()
	return xdg
}

// methodReturn is an empty D-Bus method return answering serial.
func methodReturn(serial uint32) []byte {
	b := []byte{'l', 2, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 5, 1, 'u', 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[20:], serial)
	return b
}

// The authentication goes out with the connect, before Finish, in one
// write; on a private socket the first call follows without waiting for
// the manager's answer, which is read before the call's reply.
func TestPipelinedAuth(t *testing.T) {
	got := make(chan string, 2)
	xdg := fakeManager(t, func(c *net.UnixConn) {
		in := bufio.NewReader(c)
		auth := make([]byte, len(authLines(os.Getuid())))
		if _, err := io.ReadFull(in, auth); err != nil {
			got <- "reading the authentication: " + err.Error()
			return
		}
		got <- string(auth)
		// The call comes before the manager has answered anything.
		msg, err := godbus.DecodeMessage(in)
		if err != nil {
			got <- "reading the call: " + err.Error()
			return
		}
		got <- msg.Headers[godbus.FieldMember].Value().(string)
		_, _ = c.Write(append([]byte("OK 0123456789abcdef0123456789abcdef\r\n"), methodReturn(msg.Serial())...))
	})
	d := StartDial("user", envMap(map[string]string{"XDG_RUNTIME_DIR": xdg}))
	select {
	case a := <-got:
		if a != string(authLines(os.Getuid())) {
			t.Fatalf("the manager got %q, want the authentication %q", a, authLines(os.Getuid()))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no authentication reached the manager before Finish")
	}
	s, err := d.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	call := s.bus.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").Call(startCall, 0, longArg)
	if call.Err != nil {
		t.Fatalf("call: %v (the manager saw %q)", call.Err, <-got)
	}
	if m := <-got; m != "StartTransientUnit" {
		t.Errorf("the manager got %q, want the call StartTransientUnit", m)
	}
}

// startCall is a long call (longArg), as a start is; a short one waits
// for the manager's OK.
const startCall = "org.freedesktop.systemd1.Manager.StartTransientUnit"

var longArg = strings.Repeat("x", earlyMin)

// A short first message (a stop, go-systemd's AddMatch) waits for the
// manager's OK: sd-bus would read it whole with the authentication and
// leave it unparsed.
func TestPipelinedAuthShortFirst(t *testing.T) {
	got := make(chan string, 2)
	xdg := fakeManager(t, func(c *net.UnixConn) {
		in := bufio.NewReader(c)
		_, _ = io.ReadFull(in, make([]byte, len(authLines(os.Getuid()))))
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := in.Peek(1); err == nil {
			got <- "a short message came before the OK"
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write([]byte("OK 0123456789abcdef0123456789abcdef\r\n"))
		msg, err := godbus.DecodeMessage(in)
		if err != nil {
			got <- "reading the call: " + err.Error()
			return
		}
		got <- msg.Headers[godbus.FieldMember].Value().(string)
		_, _ = c.Write(methodReturn(msg.Serial()))
	})
	s, err := StartDial("user", envMap(map[string]string{"XDG_RUNTIME_DIR": xdg})).Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	call := s.bus.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").Call("org.freedesktop.systemd1.Manager.StopUnit", 0, "x.service", "replace")
	if call.Err != nil {
		t.Fatalf("call: %v (the manager saw %q)", call.Err, <-got)
	}
	if m := <-got; m != "StopUnit" {
		t.Errorf("the manager got %q, want the call StopUnit after its OK", m)
	}
}

// A manager that reads a whole first call with the authentication and
// waits for more bytes before it parses it (pipelinedAuth) gets them: the
// kick, after kickAfter.
func TestPipelinedAuthKick(t *testing.T) {
	xdg := fakeManager(t, func(c *net.UnixConn) {
		in := bufio.NewReader(c)
		_, _ = io.ReadFull(in, make([]byte, len(authLines(os.Getuid()))))
		call, err := godbus.DecodeMessage(in)
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("OK 0123456789abcdef0123456789abcdef\r\n"))
		kick, err := godbus.DecodeMessage(in) // nothing is answered before more bytes come
		if err != nil || kick.Flags&godbus.FlagNoReplyExpected == 0 {
			return
		}
		_, _ = c.Write(methodReturn(call.Serial()))
	})
	s, err := StartDial("user", envMap(map[string]string{"XDG_RUNTIME_DIR": xdg})).Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	if err := s.bus.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").CallWithContext(ctx, startCall, 0, longArg).Err; err != nil {
		t.Fatalf("call: %v", err)
	}
	if d := time.Since(began); d < kickAfter {
		t.Errorf("answered after %s, before the kick", d)
	}
}

// A manager that refuses the uid fails the first call, saying so, as an
// unreachable manager; on a bus, whose first message waits for the answer,
// Finish says so and goes on to the next candidate.
func TestPipelinedAuthRefused(t *testing.T) {
	refuse := func(c *net.UnixConn) {
		_, _ = io.ReadFull(c, make([]byte, len(authLines(os.Getuid()))))
		_, _ = c.Write([]byte("REJECTED EXTERNAL\r\n"))
		_, _ = io.Copy(io.Discard, c) // until the client hangs up
	}
	const want = `refused to authenticate this process's uid (EXTERNAL): it answered "REJECTED EXTERNAL"`
	u := &plan.Unit{Name: "x.service", Job: "j", Repo: "r", RepoPath: "/r", Env: []string{"X=" + longArg}}
	for what, call := range map[string]func(*Systemd) error{
		"a start (long)": func(s *Systemd) error { return s.Start(context.Background(), u, "/r/plan.json") },
		"a stop (short)": func(s *Systemd) error { return s.StopUnit(context.Background(), "x.service") },
	} {
		xdg := fakeManager(t, refuse)
		s, err := StartDial("user", envMap(map[string]string{"XDG_RUNTIME_DIR": xdg})).Finish(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := call(s); !errors.Is(err, ErrManagerUnreachable) || !strings.Contains(err.Error(), want) {
			t.Errorf("private socket, %s first: err = %v; want the refusal, as an unreachable manager", what, err)
		}
		s.Close()
	}

	for answer, want := range map[string]string{"REJECTED EXTERNAL\r\n": want, "": "authenticating: EOF"} {
		bus := fakeManager(t, func(c *net.UnixConn) {
			_, _ = io.ReadFull(c, make([]byte, len(authLines(os.Getuid()))))
			_, _ = c.Write([]byte(answer))
		})
		env := map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + filepath.Join(bus, "systemd", "private"), "XDG_RUNTIME_DIR": t.TempDir()}
		_, err := StartDial("user", envMap(env)).Finish(context.Background())
		var ue *UnreachableError
		if !errors.As(err, &ue) || len(ue.Tried) < 2 || !strings.Contains(ue.Tried[0].Err.Error(), want) {
			t.Errorf("bus answering %q: err = %v; want every candidate tried, the first with %q", answer, err, want)
		}
	}
}

// A bus that never answers is given up when the dial's context ends.
func TestPipelinedAuthCancelled(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	bus := fakeManager(t, func(c *net.UnixConn) { <-hold })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	env := map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + filepath.Join(bus, "systemd", "private"), "XDG_RUNTIME_DIR": t.TempDir()}
	_, err := StartDial("user", envMap(env)).Finish(ctx)
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("err = %v; want the dial given up", err)
	}
}

// godbus's own dialogue is answered in step, and only its lines are taken.
func TestPipelinedAuthDialogue(t *testing.T) {
	c, peer := socketPair(t)
	syscall.Close(peer)
	p := newPipelinedAuth(c)
	defer p.Close()
	if _, err := p.Write([]byte("NEGOTIATE_UNIX_FD\r\n")); err == nil {
		t.Error("a line godbus never sends here was taken")
	}
	if _, err := p.Read(make([]byte, 10)); err == nil {
		t.Error("a read with no line to answer did not fail")
	}
}

// StartDial's connection passes no file descriptors, so RunSync, which
// hands the unit its output pipe, refuses it rather than fail inside.
func TestStartDialNoRunSync(t *testing.T) {
	xdg := fakeManager(t, func(c *net.UnixConn) {
		_, _ = io.ReadFull(c, make([]byte, len(authLines(os.Getuid()))))
		_, _ = c.Write([]byte("OK 0123456789abcdef0123456789abcdef\r\n"))
		_, _ = io.Copy(io.Discard, c)
	})
	s, err := StartDial("user", envMap(map[string]string{"XDG_RUNTIME_DIR": xdg})).Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.RunSync(context.Background(), &plan.Unit{Name: "x.service"}, []string{"/bin/true"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "passes no file descriptors") {
		t.Errorf("RunSync on StartDial's connection: %v", err)
	}
}

// A manager that accepts an early connection and never answers fails its
// calls after AuthTimeout, a short first message included, which waits
// for the answer deaf to its call's context.
func TestPipelinedAuthNoAnswer(t *testing.T) {
	defer func(d time.Duration) { AuthTimeout = d }(AuthTimeout)
	AuthTimeout = 100 * time.Millisecond
	hold := make(chan struct{})
	defer close(hold)
	xdg := fakeManager(t, func(c *net.UnixConn) { <-hold })
	s, err := StartDial("user", envMap(map[string]string{"XDG_RUNTIME_DIR": xdg})).Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() { done <- s.StopUnit(context.Background(), "x.service") }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrManagerUnreachable) || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Errorf("err = %v; want the manager unreachable, the wait given up", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a short first message waited on past AuthTimeout")
	}
}

// A long first message whose write fails because the manager hung up on
// the authentication fails with the manager's answer (ErrEarlyAuth, so
// the launcher dials again), not with the bare EPIPE.
func TestPipelinedAuthWriteAfterHangUp(t *testing.T) {
	c, peer := socketPair(t)
	if _, err := syscall.Write(peer, []byte("REJECTED EXTERNAL\r\n")); err != nil {
		t.Fatal(err)
	}
	syscall.Close(peer) // the manager hangs up
	p := newPipelinedAuth(c)
	defer p.Close()
	p.begun, p.early = true, true
	_, err := p.Write(make([]byte, earlyMin))
	if !errors.Is(err, ErrEarlyAuth) || !errors.Is(err, ErrManagerUnreachable) || !strings.Contains(err.Error(), "REJECTED EXTERNAL") {
		t.Errorf("err = %v; want the manager's refusal, as an early authentication failure", err)
	}
}

// socketPair is a connected pair: the client end as a *net.UnixConn, the
// other as a file descriptor the caller closes.
func socketPair(t *testing.T) (*net.UnixConn, int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "client")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	return c.(*net.UnixConn), fds[1]
}
