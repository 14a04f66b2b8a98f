package runner

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/systemdtest"
)

// The benchmarks run units whose ExecStart and ExecStopPost are /bin/true,
// so they measure the manager's and the connection's work, not a job's.

func benchUnit(now time.Time) *plan.Unit {
	return &plan.Unit{Job: "bench", Repo: "web", RepoPath: "/", Manager: "user", Name: UnitName("bench", "web", now),
		Env: []string{"HOOKRUN_JOB=bench"}}
}

// BenchmarkDialSystemd is DialSystemd + Close: one socket, EXTERNAL auth.
func BenchmarkDialSystemd(b *testing.B) {
	m := systemdtest.Start(b)
	ctx := context.Background()
	for b.Loop() {
		s, err := DialSystemd(ctx, "user", m.Getenv)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkDialGoSystemd is go-systemd's NewConnection with the same dialer:
// it dials twice.
func BenchmarkDialGoSystemd(b *testing.B) {
	m := systemdtest.Start(b)
	ctx := context.Background()
	ep := privateSocket(filepath.Join(m.RuntimeDir, "systemd", "private"))
	for b.Loop() {
		c, err := sd.NewConnection(func() (*godbus.Conn, error) { c, _, err := dialEndpoint(ctx, ep, nil); return c, err })
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkDialStartOne is what a hook matching one job pays: dial, start
// one unit, close.
func BenchmarkDialStartOne(b *testing.B) {
	m := systemdtest.Start(b)
	ctx := context.Background()
	for b.Loop() {
		s, err := DialSystemd(ctx, "user", m.Getenv)
		if err != nil {
			b.Fatal(err)
		}
		s.Self = "/bin/true"
		if err := s.Start(ctx, benchUnit(time.Now()), "/p.json"); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkStartUnit is the cost of each further unit on an open connection.
func BenchmarkStartUnit(b *testing.B) {
	m := systemdtest.Start(b)
	ctx := context.Background()
	s, err := DialSystemd(ctx, "user", m.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Self = "/bin/true"
	for b.Loop() {
		if err := s.Start(ctx, benchUnit(time.Now()), "/p.json"); err != nil {
			b.Fatal(err)
		}
	}
}
