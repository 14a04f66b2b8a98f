package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

// Exec starts units without systemd (SPEC §7): each unit is a detached
// `Self exec --supervise PLAN` process, in its own session, that survives the
// hook's exit. The supervisor applies the timeout and notifies; its output
// and the job's are appended to layout.Log(u.RepoPath, u.Name).
type Exec struct {
	// Self is the absolute path of the hookrun binary.
	Self string
}

// Start starts the supervisor of u and returns once the process exists. Its
// environment is the current one without any GIT_* variable (a hook runs
// with GIT_DIR=., which would point the job's git commands at the wrong
// repository), plus u.Env. Its working directory is u.Dir, else u.RepoPath.
// Stdin is /dev/null and stdout and stderr go to the log file (created with
// its parents, mode 0600), so git, which reads the hook's output until every
// writer has closed it, is not held up by the job.
func (e *Exec) Start(ctx context.Context, u *plan.Unit, planPath string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.Self == "" {
		return fmt.Errorf("start %s: exec runner: no hookrun binary path", u.Name)
	}
	logPath := layout.Log(u.RepoPath, u.Name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fmt.Errorf("start %s: %w", u.Name, err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start %s: %w", u.Name, err)
	}
	defer logf.Close()

	// Not CommandContext: the process must outlive ctx and the hook.
	cmd := exec.Command(e.Self, "exec", "--supervise", planPath)
	cmd.Env = ExecEnv(os.Environ(), u.Env)
	cmd.Dir = workingDirectory(u)
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = logf
	cmd.Stderr = logf
	// A new session: no controlling terminal, and no signal sent to the
	// hook's process group (e.g. ^C on a local push) reaches the job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", u.Name, err)
	}
	// The hook exits without waiting; init reaps the process.
	if err := cmd.Process.Release(); err != nil {
		return fmt.Errorf("start %s: %w", u.Name, err)
	}
	return nil
}

// Stop sends SIGTERM to the supervisor h.PID, which stops the job and
// reports it. A process that no longer exists gives ErrNoSuchUnit.
func (e *Exec) Stop(ctx context.Context, h Handle) error {
	if h.PID <= 1 {
		return fmt.Errorf("stop %s: no process id recorded", h.Name)
	}
	if err := syscall.Kill(h.PID, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop %s (process %d): %w", h.Name, h.PID, ErrNoSuchUnit)
		}
		return fmt.Errorf("stop %s (process %d): %w", h.Name, h.PID, err)
	}
	return nil
}

// Close does nothing: the exec runner holds no resources.
func (e *Exec) Close() error { return nil }

// ExecEnv is environ without GIT_* variables, followed by extra (KEY=VALUE;
// a later entry wins, as with exec.Cmd).
func ExecEnv(environ, extra []string) []string {
	return append(gitx.CleanEnv(environ), extra...)
}
