package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pipelinedAuth is a connection whose authentication is written in one
// go as the socket connects, without waiting for the server's answers, as
// sd-bus clients do: the null byte, AUTH EXTERNAL with the uid, BEGIN.
// The server answers once (OK), where godbus's line-by-line dialogue
// costs four round trips, and it answers while the hook is still busy.
//
// On a manager's private socket a long first message (a start call)
// follows without waiting for that OK either (early): the manager reads
// it with the authentication and answers both in one pass. The OK is
// then checked before the first message read. sd-bus (252, and as far
// back as its bus_socket_read_auth goes) reads at most 256 bytes while
// it authenticates and parses the rest only when more bytes come: the
// end of a message of earlyMin bytes or more is still in the socket and
// comes after, while a shorter one (a stop call, go-systemd's AddMatch)
// would wait forever, so it waits for the OK. Should a manager ever
// swallow a whole long call with the authentication, the kick (see
// dialEndpoint) sends it more bytes. On a bus (session or system:
// dbus-daemon or dbus-broker, whose first message, Hello, is short) the
// first message waits for the OK (awaitOK) before it is made.
//
// godbus still runs its own dialogue, which pipelinedAuth answers itself;
// it is given this as a generic transport, which passes no file
// descriptors: a hook's starts pass none, and RunSync refuses such a
// connection (Systemd.auth).
type pipelinedAuth struct {
	conn    *net.UnixConn
	in      *bufio.Reader
	answers bytes.Buffer  // what godbus's dialogue is told
	begun   bool          // godbus said BEGIN: writes go to the socket
	early   bool          // the OK is read by checkOK: before the first read, or before a short first message
	timeout time.Duration // checkOK's bound: AuthTimeout when made (a short first message waits holding godbus's send lock, so Close waits too)
	sent    bool          // a message went out (writes are godbus's, one at a time)

	ok      sync.Once
	refusal atomic.Pointer[error] // checkOK's error, for any goroutine
}

// ErrEarlyAuth: a manager did not accept a connection whose calls went
// out with its authentication (pipelinedAuth). It processed none of them
// (a manager answers the authentication first): a caller may dial again
// the usual way (DialSystemd, which tries the other candidates) and call
// again.
var ErrEarlyAuth = errors.New("the connection's authentication failed")

// AuthTimeout bounds the wait for a manager's answer to an early
// connection's authentication (pipelinedAuth), as unit.CallTimeout
// bounds a dial.
var AuthTimeout = 30 * time.Second

// earlyMin is the length from which a first message goes out before the
// server's OK (see pipelinedAuth): sd-bus reads 256 bytes with the
// authentication, which is up to 44 of them.
const earlyMin = 512

// authLines is what a client authenticating as uid writes: the null byte
// (credentials are the socket's, SO_PEERCRED), EXTERNAL with the uid in
// hex of its decimal digits, and BEGIN.
func authLines(uid int) []byte {
	return []byte("\x00AUTH EXTERNAL " + hex.EncodeToString([]byte(strconv.Itoa(uid))) + "\r\nBEGIN\r\n")
}

func newPipelinedAuth(conn *net.UnixConn) *pipelinedAuth {
	return &pipelinedAuth{conn: conn, in: bufio.NewReader(conn), timeout: AuthTimeout}
}

// Write takes godbus's dialogue lines (each one Write) until its BEGIN,
// answering each as the server answered the lines already sent; then it
// writes to the socket.
func (p *pipelinedAuth) Write(b []byte) (int, error) {
	if p.begun {
		if p.early && !p.sent && len(b) < earlyMin {
			if err := p.checkOK(); err != nil {
				return 0, err
			}
		}
		p.sent = true
		n, err := p.conn.Write(b)
		if err != nil && p.early {
			// A manager that hung up on the authentication (EPIPE here)
			// says so in what it left to read: that is the error.
			if aerr := p.checkOK(); aerr != nil {
				return n, aerr
			}
		}
		return n, err
	}
	line := string(b)
	switch {
	case line == "\x00":
	case line == "AUTH\r\n":
		p.answers.WriteString("REJECTED EXTERNAL\r\n")
	case line == "AUTH EXTERNAL\r\n" || strings.HasPrefix(line, "AUTH EXTERNAL "):
		p.answers.WriteString("OK 00000000000000000000000000000000\r\n")
	case line == "BEGIN\r\n":
		p.begun = true
	default:
		return 0, fmt.Errorf("dbus: unexpected authentication line %q", line)
	}
	return len(b), nil
}

// awaitOK reads the server's answer to the authentication: OK, or an
// error naming what it said instead. It gives up when ctx ends.
func (p *pipelinedAuth) awaitOK(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = p.conn.SetReadDeadline(time.Now()) })
	line, err := p.in.ReadString('\n')
	if !stop() {
		if err == nil {
			err = ctx.Err()
		}
		_ = p.conn.SetReadDeadline(time.Time{})
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("authenticating: %w", ctx.Err())
	case err != nil:
		return fmt.Errorf("authenticating: %w", err)
	case !strings.HasPrefix(line, "OK "):
		return fmt.Errorf("it refused to authenticate this process's uid (EXTERNAL): it answered %q", strings.TrimSpace(line))
	}
	return nil
}

// Read answers godbus's dialogue until its BEGIN; then it reads the
// socket, checking the server's OK first if that is not done. A refusal
// fails that read, and so every call waiting, with an error that wraps
// ErrManagerUnreachable.
func (p *pipelinedAuth) Read(b []byte) (int, error) {
	if !p.begun {
		if p.answers.Len() == 0 {
			return 0, errors.New("dbus: authentication dialogue out of step")
		}
		return p.answers.Read(b)
	}
	if p.early {
		if err := p.checkOK(); err != nil {
			return 0, err
		}
	}
	return p.in.Read(b)
}

// checkOK reads the server's OK once, for an early connection, for the
// first Read or Write that needs it; both get its error, which wraps
// ErrManagerUnreachable.
func (p *pipelinedAuth) checkOK() error {
	p.ok.Do(func() {
		// Bounded as a dial is: a short message waits here holding
		// godbus's send lock, deaf to its call's context.
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		defer cancel()
		if err := p.awaitOK(ctx); err != nil {
			err = fmt.Errorf("%w: %w: %w", ErrManagerUnreachable, ErrEarlyAuth, err)
			p.refusal.Store(&err)
		}
	})
	return p.refused()
}

// refused is checkOK's error, once it has one.
func (p *pipelinedAuth) refused() error {
	if e := p.refusal.Load(); e != nil {
		return *e
	}
	return nil
}

func (p *pipelinedAuth) Close() error { return p.conn.Close() }
