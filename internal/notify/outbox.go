package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/outcome"
)

// An Outbox holds notifications that are sent out of the path of the
// process that has them: a push never waits on ntfy. Each is a [Letter]
// in its own file of the outbox's directory, written whole (a temporary
// file, fsync, rename) before anything is sent, so a notification outlives
// the process that posted it; [Deliver] sends one and removes it.
//
// Sending is at most once, as with ntfy's Client.Publish (internal/ntfy):
// a deliverer holds an
// flock on the letter while it works, and marks it (LETTER.sending) before
// the request leaves. A letter found marked with no deliverer holding it
// was interrupted after it may have reached ntfy: it is not sent again but
// recorded "maybe delivered".
type Outbox struct {
	Dir string
}

// MaxRetryBudget is the largest retry budget the configuration accepts: the
// notification runs as the unit's ExecStopPost=, which systemd stops after
// 2 minutes, and the last attempt needs room too.
const MaxRetryBudget = 90 * time.Second

// TokenEnv is the environment variable the ntfy token is read from when a
// letter (or [notify]) names no token file.
const TokenEnv = "HOOKRUN_NTFY_TOKEN"

// Letter is one notification waiting in an outbox, with what its sender
// needs to record what became of it.
type Letter struct {
	Server      string        `json:"server"`
	Topic       string        `json:"topic"`
	TokenFile   string        `json:"token_file,omitempty"`
	RetryBudget time.Duration `json:"retry_budget,omitempty"`
	Message     Message       `json:"message"`
	Posted      time.Time     `json:"posted"`
	// Record is the sender's own: what to record the delivery against.
	Record json.RawMessage `json:"record,omitempty"`
}

// Post writes l to the outbox and returns its path.
func (o Outbox) Post(l Letter) (string, error) {
	if l.Posted.IsZero() {
		l.Posted = time.Now()
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot keep the notification to send: %w", err)
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	name := l.Posted.UTC().Format("20060102T150405.000000000") + "-" + hex.EncodeToString(id[:]) + ".json"
	path := filepath.Join(o.Dir, name)
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("cannot keep the notification to send: %w", err)
	}
	return path, nil
}

// Pending lists the letters of the outbox, oldest first.
func (o Outbox) Pending() ([]string, error) {
	entries, err := os.ReadDir(o.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			out = append(out, filepath.Join(o.Dir, n))
		}
	}
	slices.Sort(out)
	return out, nil
}

// ErrBusy: another deliverer has the letter.
var ErrBusy = errors.New("another process is delivering this notification")

// Deliver sends the letter at path once (with send: ntfy.Send), calls
// record with the letter and the result, and removes it. A letter whose
// sending was interrupted is recorded "maybe delivered" and not sent again;
// one another process is delivering returns ErrBusy, and one already
// delivered and removed returns nil with nothing done. log gets a warning
// when the letter cannot be marked.
func Deliver(ctx context.Context, path string, send func(context.Context, Letter) outcome.Delivery, log io.Writer, record func(Letter, outcome.Delivery) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return ErrBusy
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
	// Removed while we waited for the lock: delivered already.
	var a, b syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &a) != nil || syscall.Stat(path, &b) != nil || a.Ino != b.Ino {
		return nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var l Letter
	if err := json.Unmarshal(data, &l); err != nil {
		// Never sendable: kept aside for a person, out of the queue.
		_ = os.Rename(path, path+".damaged")
		return fmt.Errorf("notification %s is damaged (%v): moved to %s.damaged", path, err, path)
	}
	marker := path + ".sending"
	var result outcome.Delivery
	if _, err := os.Stat(marker); err == nil {
		result = outcome.Delivery{Output: outcome.Ntfy, State: outcome.MaybeDelivered, Error: "its delivery was interrupted after it may have reached ntfy; not sent again"}
	} else {
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			// Without the mark a second send could follow an interruption;
			// sending once now is still better than not at all.
			fmt.Fprintf(log, "hookrun: warning: %v\n", err)
		}
		result = send(ctx, l)
	}
	rerr := record(l, result)
	os.Remove(path)
	os.Remove(marker)
	return rerr
}

// Spawn starts `self deliver PATH...` on its own, detached from the caller:
// its own session, no standard input or output of the caller's (git waits
// for those to close), so the caller returns without waiting for ntfy.
func Spawn(self string, paths ...string) error {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	cmd := exec.Command(self, append([]string{"deliver"}, paths...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start the delivery of the notification: %w", err)
	}
	return cmd.Process.Release()
}
