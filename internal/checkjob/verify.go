package checkjob

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Verify checks, inside a check's unit and before its program runs, that
// the isolation holds: the repository (and the quarantine and object
// directories the environment names) on a read-only mount, none of the
// sockets reachable (those given, and those the unit's own environment
// names), no capabilities and no way to gain any. systemd runs a unit
// unsandboxed where it cannot set up its namespaces, so this is what makes
// the isolation fail closed. getenv is the unit's environment.
func Verify(repo string, sockets []string, getenv func(string) string) error {
	// Wholly read-only, every mount inside included: the repository, the
	// object directories, and the cgroup tree (a process moved to another
	// cgroup would outlive the unit).
	paths := []string{repo}
	for _, k := range []string{"GIT_DIR", "GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH"} {
		if v := getenv(k); v != "" && filepath.IsAbs(v) {
			paths = append(paths, v)
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err == nil {
		paths = append(paths, "/sys/fs/cgroup")
	}
	// Read-only itself (the job's read_write_paths may open a directory
	// inside): the home directory, where a unit file or a login script
	// would outlive the check.
	top := slices.Clone(paths)
	if h := getenv("HOME"); filepath.IsAbs(h) {
		if _, err := os.Stat(h); err == nil {
			top = append(top, h)
		}
	}
	for _, p := range top {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err != nil {
			return fmt.Errorf("cannot check that %s is read-only: %v", p, err)
		}
		if st.Flags&unix.ST_RDONLY == 0 {
			return fmt.Errorf("%s is writable in the check's unit (ReadOnlyPaths= was not applied)", p)
		}
	}
	if err := noWritableMountUnder(paths); err != nil {
		return err
	}
	all := append([]string{}, sockets...)
	all = append(all, Sockets(getenv, os.Getuid())...)
	if s := reachable(all); s != "" {
		return fmt.Errorf("the socket %s is reachable from the check's unit (it was not hidden, or it is an abstract socket, which no mount hides)", s)
	}
	st, err := procStatus()
	if err != nil {
		return err
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapAmb"} {
		v, err := strconv.ParseUint(st[k], 16, 64)
		if err != nil || v != 0 {
			return fmt.Errorf("the check's unit has capabilities (%s: %s); it could undo its read-only mounts", k, st[k])
		}
	}
	if st["NoNewPrivs"] != "1" {
		return errors.New("the check's unit can gain privileges (NoNewPrivileges= was not applied)")
	}
	return nil
}

func procStatus() (map[string]string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("cannot read the unit's capabilities: %v", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m, sc.Err()
}

// noWritableMountUnder checks /proc/self/mountinfo: no mount inside one
// of paths may be writable (a read-write path of the job's own sandbox
// under the repository would be).
func noWritableMountUnder(paths []string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("cannot read the unit's mounts: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		mnt := unescapeMountinfo(f[4])
		for _, p := range paths {
			p = filepath.Clean(p)
			if mnt != p && !strings.HasPrefix(mnt, p+"/") {
				continue
			}
			if !slices.Contains(strings.Split(f[5], ","), "ro") {
				return fmt.Errorf("%s is mounted writable in the check's unit (a read_write_paths inside the repository?)", mnt)
			}
		}
	}
	return nil
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 is a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// reachable is the first of sockets that accepts a connection ("@name": an
// abstract socket), or "".
func reachable(sockets []string) string {
	for _, s := range sockets {
		c, err := net.DialTimeout("unix", s, time.Second)
		if err == nil {
			c.Close()
			return s
		}
	}
	return ""
}
