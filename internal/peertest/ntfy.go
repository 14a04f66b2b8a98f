package peertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timeouts of the ntfy starter. Generous: the machine may be loaded.
const (
	ntfyStartTimeout = 30 * time.Second
	ntfyStopTimeout  = 10 * time.Second
	ntfyCmdTimeout   = 30 * time.Second
	pollTimeout      = 10 * time.Second
)

// AdminUser is the admin user StartNtfy creates; Ntfy.Token is its token.
const AdminUser = "hookrun"

// readerAddr is the loopback address Poll connects from. It is always exempt
// from ntfy's rate limits, so reading back never uses up the publishers'
// budget (ntfy limits per visitor IP).
const readerAddr = "127.0.0.2"

// NtfyOptions configure StartNtfy. The zero value is a server without rate
// limits.
type NtfyOptions struct {
	// RequestBurst, when > 0, is ntfy's visitor-request-limit-burst for
	// clients on 127.0.0.1 (hookrun); 0 exempts 127.0.0.1 from rate limits.
	RequestBurst int
	// RequestReplenish is visitor-request-limit-replenish (one request back
	// per interval); 0 keeps ntfy's default, 5s. Used with RequestBurst.
	RequestReplenish time.Duration
}

// Ntfy is a running ntfy server.
type Ntfy struct {
	URL   string // base URL, "http://127.0.0.1:PORT"
	Token string // AdminUser's token: read and write on every topic
	PID   int    // the server's process id
	Dir   string // the server's own directory: config, databases, log

	bin, config string
	cmd         *exec.Cmd
	done        chan struct{} // closed when the process has exited
	reader      *http.Client
}

// NewNtfy starts an ntfy server for t and stops it when t ends. It skips t
// when there is no ntfy binary (fails it under HOOKRUN_REQUIRE_PEERS=1) and
// fails it when the server cannot start.
func NewNtfy(t testing.TB, opts NtfyOptions) *Ntfy {
	t.Helper()
	bin := NtfyBinary(t)
	s, err := StartNtfy(bin, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ntfy server log (%s):\n%s", s.Dir, s.Log())
		}
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// sqliteStartup makes ntfy's SQLite databases take concurrent requests.
const sqliteStartup = "pragma journal_mode = WAL; pragma synchronous = normal; pragma busy_timeout = 15000;"

// StartNtfy starts the ntfy binary bin as a server on a free port of
// 127.0.0.1, in a fresh temporary directory, with auth-default-access
// deny-all, and creates AdminUser with a token. It returns once the server
// answers /v1/health. The caller must Stop it.
func StartNtfy(bin string, opts NtfyOptions) (*Ntfy, error) {
	var lastErr error
	for range 3 { // another process may take the free port before ntfy binds it
		s, err := startNtfy(bin, opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func startNtfy(bin string, opts NtfyOptions) (*Ntfy, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hookrun-ntfy-")
	if err != nil {
		return nil, err
	}
	s := &Ntfy{
		URL: "http://127.0.0.1:" + strconv.Itoa(port), Dir: dir, bin: bin,
		config: filepath.Join(dir, "server.yml"), done: make(chan struct{}),
	}
	exempt := readerAddr
	if opts.RequestBurst <= 0 {
		exempt += ",127.0.0.1"
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "base-url: %q\nlisten-http: %q\n", s.URL, strings.TrimPrefix(s.URL, "http://"))
	fmt.Fprintf(&cfg, "cache-file: %q\nauth-file: %q\n", filepath.Join(dir, "cache.db"), filepath.Join(dir, "auth.db"))
	fmt.Fprintf(&cfg, "auth-default-access: \"deny-all\"\nweb-root: \"disable\"\n")
	// In its default rollback-journal mode the auth database, read for every
	// publish and written when a token is used, made ntfy answer a valid
	// token's concurrent publishes with 403 now and then (2 of 4 full runs of
	// cmd/hookrun at 09:55 lost one of two notifications that way). WAL lets
	// the reads go on beside the writes, as ntfy's docs advise for load.
	fmt.Fprintf(&cfg, "auth-startup-queries: %q\ncache-startup-queries: %q\n", sqliteStartup, sqliteStartup)
	fmt.Fprintf(&cfg, "visitor-request-limit-exempt-hosts: %q\n", exempt)
	if opts.RequestBurst > 0 {
		fmt.Fprintf(&cfg, "visitor-request-limit-burst: %d\n", opts.RequestBurst)
		if opts.RequestReplenish > 0 {
			fmt.Fprintf(&cfg, "visitor-request-limit-replenish: %q\n", opts.RequestReplenish.String())
		}
	}
	if err := os.WriteFile(s.config, []byte(cfg.String()), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "ntfy.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "serve", "--config", s.config)
	s.cmd.Dir = dir
	s.cmd.Env = s.env()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// The server dies with the test binary, even when a test times out
	// before its cleanups run.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start ntfy: %w", err)
	}
	s.PID = s.cmd.Process.Pid
	go func() { s.cmd.Wait(); close(s.done) }()

	local := &net.TCPAddr{IP: net.ParseIP(readerAddr)}
	s.reader = &http.Client{
		Timeout: pollTimeout,
		Transport: &http.Transport{
			DialContext: (&net.Dialer{LocalAddr: local, Timeout: pollTimeout}).DialContext,
		},
	}
	if err := s.waitHealthy(); err != nil {
		s.Stop()
		return nil, err
	}
	tok, err := s.AddUser(AdminUser, true)
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.Token = tok
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// env is the environment of the server and its admin commands: no NTFY_*
// settings of the caller's leak in.
func (s *Ntfy) env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.Dir}
}

func (s *Ntfy) waitHealthy() error {
	deadline := time.Now().Add(ntfyStartTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := s.reader.Get(s.URL + "/v1/health")
		if err == nil {
			var h struct{ Healthy bool }
			json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&h)
			resp.Body.Close()
			if h.Healthy {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("ntfy serve exited before answering %s/v1/health: %s", s.URL, strings.TrimSpace(s.Log()))
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ntfy at %s not healthy after %v (last error: %v); log:\n%s", s.URL, ntfyStartTimeout, err, s.Log())
		}
	}
}

// Log returns what the server wrote so far.
func (s *Ntfy) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "ntfy.log"))
	return string(b)
}

// admin runs an ntfy admin command (user, token, access) on the server's
// databases and returns its output.
func (s *Ntfy) admin(extraEnv []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ntfyCmdTimeout)
	defer cancel()
	argv := append([]string{args[0], "--config", s.config}, args[1:]...)
	cmd := exec.CommandContext(ctx, s.bin, argv...)
	cmd.Dir = s.Dir
	cmd.Env = append(s.env(), extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ntfy %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// AddUser creates a user (admin: role admin, with access to every topic;
// otherwise role user, with no access until Grant) and a token for it, made
// with `ntfy user add` and `ntfy token add`. It returns the token.
func (s *Ntfy) AddUser(name string, admin bool) (string, error) {
	role := "user"
	if admin {
		role = "admin"
	}
	if _, err := s.admin([]string{"NTFY_PASSWORD=pw-" + name}, "user", "add", "--role="+role, name); err != nil {
		return "", err
	}
	out, err := s.admin(nil, "token", "add", name)
	if err != nil {
		return "", err
	}
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "tk_") {
			return f, nil
		}
	}
	return "", fmt.Errorf("ntfy token add %s printed no tk_ token: %q", name, out)
}

// Grant gives user perm ("read-write", "read-only", "write-only", "deny")
// on topic, with `ntfy access`.
func (s *Ntfy) Grant(user, topic, perm string) error {
	_, err := s.admin(nil, "access", user, topic, perm)
	return err
}

// Pause stops the server with SIGSTOP: it accepts connections but never
// answers, until Resume. It returns once every thread of the server is
// stopped (a signal is delivered asynchronously: without the wait, a request
// made right after could still be answered).
func (s *Ntfy) Pause() error {
	if err := s.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	deadline := time.Now().Add(ntfyStopTimeout)
	for !s.stopped() {
		if time.Now().After(deadline) {
			return fmt.Errorf("ntfy (pid %d) not stopped %v after SIGSTOP", s.PID, ntfyStopTimeout)
		}
		time.Sleep(5 * time.Millisecond) // polling /proc, not ordering
	}
	return nil
}

// stopped reports whether every thread of the server is in state T.
func (s *Ntfy) stopped() bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", s.PID))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			return false
		}
		// "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			return false
		}
	}
	return true
}

// Resume continues a paused server with SIGCONT.
func (s *Ntfy) Resume() error { return s.signal(syscall.SIGCONT) }

func (s *Ntfy) signal(sig syscall.Signal) error {
	select {
	case <-s.done:
		return fmt.Errorf("ntfy (pid %d) has exited", s.PID)
	default:
	}
	if err := syscall.Kill(s.PID, sig); err != nil {
		return fmt.Errorf("signal %v to ntfy (pid %d): %w", sig, s.PID, err)
	}
	return nil
}

// Stop ends the server by its PID (SIGTERM, then SIGKILL after a deadline;
// a paused server is continued first), waits for it and removes its
// directory. It may be called more than once.
func (s *Ntfy) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return os.RemoveAll(s.Dir)
	}
	var err error
	select {
	case <-s.done:
	default:
		syscall.Kill(s.PID, syscall.SIGTERM)
		syscall.Kill(s.PID, syscall.SIGCONT)
		select {
		case <-s.done:
		case <-time.After(ntfyStopTimeout):
			syscall.Kill(s.PID, syscall.SIGKILL)
			<-s.done
			err = fmt.Errorf("ntfy (pid %d) ignored SIGTERM for %v: killed", s.PID, ntfyStopTimeout)
		}
	}
	if rmErr := os.RemoveAll(s.Dir); err == nil {
		err = rmErr
	}
	return err
}

// Message is one message as ntfy's JSON poll API returns it.
type Message struct {
	ID       string   `json:"id"`
	Time     int64    `json:"time"`
	Event    string   `json:"event"`
	Topic    string   `json:"topic"`
	Title    string   `json:"title,omitempty"`
	Message  string   `json:"message"`
	Priority int      `json:"priority,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Click    string   `json:"click,omitempty"`
}

// Poll returns every message published to topic so far, oldest first, read
// with the admin token through GET /TOPIC/json?poll=1&since=all.
func (s *Ntfy) Poll(topic string) ([]Message, error) {
	req, err := http.NewRequest(http.MethodGet, s.URL+"/"+url.PathEscape(topic)+"/json?poll=1&since=all", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := s.reader.Do(req)
	if err != nil {
		return nil, fmt.Errorf("poll ntfy topic %s: %w", topic, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("poll ntfy topic %s: %w", topic, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("poll ntfy topic %s: %s: %s", topic, resp.Status, bytes.TrimSpace(body))
	}
	var ms []Message
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("poll ntfy topic %s: line %q: %w", topic, sc.Text(), err)
		}
		if m.Event == "message" {
			ms = append(ms, m)
		}
	}
	return ms, sc.Err()
}

// ErrTimeout is wrapped by WaitFor when fewer messages arrived in time.
var ErrTimeout = errors.New("timed out")

// WaitFor polls topic until at least n messages are there or timeout passed,
// and returns what is there (with an error wrapping ErrTimeout when fewer
// than n).
func (s *Ntfy) WaitFor(topic string, n int, timeout time.Duration) ([]Message, error) {
	deadline := time.Now().Add(timeout)
	for {
		ms, err := s.Poll(topic)
		if err == nil && len(ms) >= n {
			return ms, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return ms, fmt.Errorf("%w after %v waiting for %d messages on %s: %v", ErrTimeout, timeout, n, topic, err)
			}
			return ms, fmt.Errorf("%w after %v: %d of %d messages on %s", ErrTimeout, timeout, len(ms), n, topic)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not ordering
	}
}
