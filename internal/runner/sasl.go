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
	"time"
)

// pipelinedAuth is a connection whose authentication is written in one
// go as the socket connects, without waiting for the server's answers, as
// sd-bus clients do: the null byte, AUTH EXTERNAL with the uid, BEGIN.
// The server answers once (OK), where godbus's line-by-line dialogue
// costs four round trips, and it answers while the hook is still busy.
// The first message waits for that answer (awaitOK): systemd's sd-bus
// (252) leaves message bytes that come in the same read as BEGIN
// unparsed until more bytes come, and a short first call would wait
// forever (seen: go-systemd's AddMatch).
//
// godbus still runs its own dialogue, which pipelinedAuth answers itself;
// it is given this as a generic transport, which passes no file
// descriptors: a hook's starts pass none, and RunSync refuses such a
// connection (Systemd.noFDs).
type pipelinedAuth struct {
	conn    *net.UnixConn
	in      *bufio.Reader
	answers bytes.Buffer // what godbus's dialogue is told
	begun   bool         // godbus said BEGIN: writes go to the socket
}

// authLines is what a client authenticating as uid writes: the null byte
// (credentials are the socket's, SO_PEERCRED), EXTERNAL with the uid in
// hex of its decimal digits, and BEGIN.
func authLines(uid int) []byte {
	return []byte("\x00AUTH EXTERNAL " + hex.EncodeToString([]byte(strconv.Itoa(uid))) + "\r\nBEGIN\r\n")
}

func newPipelinedAuth(conn *net.UnixConn) *pipelinedAuth {
	return &pipelinedAuth{conn: conn, in: bufio.NewReader(conn)}
}

// Write takes godbus's dialogue lines (each one Write) until its BEGIN,
// answering each as the server answered the lines already sent; then it
// writes to the socket.
func (p *pipelinedAuth) Write(b []byte) (int, error) {
	if p.begun {
		return p.conn.Write(b)
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
// socket (what came after the server's OK).
func (p *pipelinedAuth) Read(b []byte) (int, error) {
	if !p.begun {
		if p.answers.Len() == 0 {
			return 0, errors.New("dbus: authentication dialogue out of step")
		}
		return p.answers.Read(b)
	}
	return p.in.Read(b)
}

func (p *pipelinedAuth) Close() error { return p.conn.Close() }
