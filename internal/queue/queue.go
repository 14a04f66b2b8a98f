// Package queue makes units of the same repository and job run one at a time
// in push order (concurrency = "queue"), and finds the running ones a newer
// push replaces (concurrency = "replace"). It works from the plans saved in
// $GIT_DIR/hookrun/units, so it is the same for systemd and exec runners.
//
// A running or waiting `hookrun exec` holds an exclusive flock on its own
// plan file. A queued unit runs when no plan of the same job with a lower
// sequence number is still alive: locked by its exec, or saved less than
// StartGrace ago (its unit may not have started yet). Plans are removed by
// `hookrun notify` when a unit ends, whatever the outcome, so a unit that was
// stopped or crashed never blocks the queue; a plan left behind by a reboot
// stops counting after StartGrace.
package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
)

// StartGrace is how long a saved plan counts as alive before its exec holds
// its lock: the time a manager may take to start a queued unit.
var StartGrace = 2 * time.Minute

// poll is how often a waiting unit looks again.
var poll = 200 * time.Millisecond

// NextSeq returns the next sequence number for the repository, under a lock,
// so concurrent pushes are numbered in the order their hooks got here.
func NextSeq(repoPath string) (uint64, error) {
	path := filepath.Join(plan.StateDir(repoPath), "seq")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0, err
	}
	var buf [8]byte
	n, _ := f.ReadAt(buf[:], 0)
	var seq uint64
	if n == 8 {
		seq = binary.BigEndian.Uint64(buf[:])
	}
	seq++
	binary.BigEndian.PutUint64(buf[:], seq)
	if _, err := f.WriteAt(buf[:], 0); err != nil {
		return 0, err
	}
	return seq, nil
}

// Hold takes the exclusive lock that marks the plan at path as alive; it is
// released when the returned file is closed (or the process ends).
func Hold(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// alive reports whether the plan at path belongs to a unit that has not ended.
func alive(path string, saved time.Time) bool {
	f, err := os.Open(path)
	if err != nil {
		return false // gone: the unit ended
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		return true // its exec holds it
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return time.Since(saved) < StartGrace
}

// Others lists the plans of other units of the same repository and job.
func Others(u *plan.Unit) []*plan.Unit {
	paths, _ := filepath.Glob(filepath.Join(plan.StateDir(u.RepoPath), "units", "*.json"))
	var out []*plan.Unit
	for _, p := range paths {
		if strings.TrimSuffix(filepath.Base(p), ".json") == u.Name {
			continue
		}
		o, err := plan.Load(p)
		if err != nil || o.Job != u.Job || o.Repo != u.Repo {
			continue
		}
		out = append(out, o)
	}
	return out
}

// WaitTurn blocks until no earlier queued unit of the same job is alive, or
// ctx ends. wait is called once, with the units ahead, when it must wait.
func WaitTurn(ctx context.Context, u *plan.Unit, waiting func(ahead []string)) error {
	told := false
	for {
		var ahead []string
		for _, o := range Others(u) {
			if o.Seq != 0 && o.Seq < u.Seq && alive(plan.PlanPath(o.RepoPath, o.Name), o.Created) {
				ahead = append(ahead, o.Name+" (#"+strconv.FormatUint(o.Seq, 10)+")")
			}
		}
		if len(ahead) == 0 {
			return nil
		}
		if !told && waiting != nil {
			waiting(ahead)
			told = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Running lists the other units of u's job that are still alive, for
// concurrency = "replace".
func Running(u *plan.Unit) []*plan.Unit {
	var out []*plan.Unit
	for _, o := range Others(u) {
		if alive(plan.PlanPath(o.RepoPath, o.Name), o.Created) {
			out = append(out, o)
		}
	}
	return out
}
