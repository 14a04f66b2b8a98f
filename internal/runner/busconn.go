package runner

import (
	"context"
	"fmt"
	"path"
	"strconv"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// busConn is a systemdConn over one raw godbus connection: the method calls
// go-systemd's Conn makes, without what its NewConnection adds on top (an
// AddMatch call, one more round trip to the manager before the first start,
// and a goroutine dispatching every signal). A hook only calls methods and
// never waits for job signals, so it needs neither; RunSync, which waits
// for its start and stop jobs, gets go-systemd's Conn (Systemd.jobConn).
//
// A channel passed as ch to a job method is never written to: callers that
// wait for the job use jobConn.
type busConn struct {
	bus *godbus.Conn
	obj godbus.BusObject
}

func newBusConn(bus *godbus.Conn) *busConn {
	return &busConn{bus: bus, obj: bus.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")}
}

// job calls a Manager method that returns a job's object path, and returns
// the job's number.
func (b *busConn) job(ctx context.Context, method string, args ...any) (int, error) {
	var p godbus.ObjectPath
	if err := b.obj.CallWithContext(ctx, "org.freedesktop.systemd1.Manager."+method, 0, args...).Store(&p); err != nil {
		return 0, err
	}
	id, _ := strconv.Atoi(path.Base(string(p))) // 0 is fine, as go-systemd has it
	return id, nil
}

func (b *busConn) StartTransientUnitContext(ctx context.Context, name, mode string, properties []sd.Property, _ chan<- string) (int, error) {
	return b.job(ctx, "StartTransientUnit", name, mode, properties, []sd.PropertyCollection{})
}

func (b *busConn) StartTransientUnitAux(ctx context.Context, name, mode string, properties []sd.Property, aux []sd.PropertyCollection, _ chan<- string) (int, error) {
	return b.job(ctx, "StartTransientUnit", name, mode, properties, aux)
}

func (b *busConn) StopUnitContext(ctx context.Context, name, mode string, _ chan<- string) (int, error) {
	return b.job(ctx, "StopUnit", name, mode)
}

func (b *busConn) ResetFailedUnitContext(ctx context.Context, name string) error {
	return b.obj.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.ResetFailedUnit", 0, name).Store()
}

func (b *busConn) GetUnitTypePropertiesContext(ctx context.Context, unit, unitType string) (map[string]any, error) {
	p := godbus.ObjectPath("/org/freedesktop/systemd1/unit/" + sd.PathBusEscape(unit))
	if !p.IsValid() {
		return nil, fmt.Errorf("invalid unit name: %v", p)
	}
	var props map[string]godbus.Variant
	err := b.bus.Object("org.freedesktop.systemd1", p).CallWithContext(ctx, "org.freedesktop.DBus.Properties.GetAll", 0, "org.freedesktop.systemd1."+unitType).Store(&props)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(props))
	for k, v := range props {
		out[k] = v.Value()
	}
	return out, nil
}

func (b *busConn) ListUnitsByPatternsContext(ctx context.Context, states, patterns []string) ([]sd.UnitStatus, error) {
	if states == nil {
		states = []string{} // an array either way on the wire
	}
	var out []sd.UnitStatus
	err := b.obj.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.ListUnitsByPatterns", 0, states, patterns).Store(&out)
	return out, err
}

func (b *busConn) Close() { b.bus.Close() }
