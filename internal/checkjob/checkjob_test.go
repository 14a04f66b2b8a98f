package checkjob

import (
	"bytes"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
)

func TestAddressPaths(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want []string
	}{
		{"", nil},
		{"unix:path=/run/user/1000/bus", []string{"/run/user/1000/bus"}},
		{"unix:path=/tmp/a%20b/bus,guid=x;unix:abstract=/x;tcp:host=h", []string{"/tmp/a b/bus", "@/x"}},
		{"unix:path=/bad%2", nil},
		{"unix:guid=1,path=/p", []string{"/p"}},
	} {
		if got := AddressPaths(tc.addr); !slices.Equal(got, tc.want) {
			t.Errorf("AddressPaths(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestSockets(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/tmp/rt/", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/rt/bus", "DBUS_SYSTEM_BUS_ADDRESS": "unix:abstract=/sys"}
	got := Sockets(func(k string) string { return env[k] }, 1000, "unix:path=/tmp/rt/systemd/private")
	want := []string{"/tmp/rt/bus", "@/sys", "/tmp/rt/systemd/private", "/run/user/1000/bus", "/run/user/1000/systemd/private",
		"/run/dbus/system_bus_socket", "/run/systemd/private"}
	if !slices.Equal(got, want) {
		t.Errorf("Sockets = %q, want %q", got, want)
	}
}

func TestLinePrefixer(t *testing.T) {
	var b bytes.Buffer
	l := &LinePrefixer{W: &b, Prefix: "p: "}
	l.Write([]byte("a\nb"))
	l.Write([]byte("c\n\xff"))
	l.Flush()
	if got, want := b.String(), "p: a\np: bc\np: \uFFFD\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/x\0`: `/x\0`, `\134`: `\`} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVerifyOutsideAUnit(t *testing.T) {
	// Here (a test process, not a check's unit) nothing is isolated:
	// Verify must say so, not pass.
	if err := Verify(t.TempDir(), nil, func(string) string { return "" }); err == nil {
		t.Fatal("Verify passed in an unisolated process")
	}
}

func TestReachable(t *testing.T) {
	path := t.TempDir() + "/bus"
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	abstract := "@hookrun-test-" + strconv.Itoa(os.Getpid())
	la, err := net.Listen("unix", abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	if got := reachable([]string{"/nonexistent/bus", path}); got != path {
		t.Errorf("path socket: %q", got)
	}
	if got := reachable([]string{abstract}); got != abstract {
		t.Errorf("abstract socket: %q", got)
	}
	if got := reachable([]string{"/nonexistent/bus", "@hookrun-test-none"}); got != "" {
		t.Errorf("nothing listens, got %q", got)
	}
}
