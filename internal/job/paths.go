package job

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hookrun/hookrun/internal/plan"
)

// checkPaths refuses a step whose paths, as expanded at push time, could
// reach outside what the configuration named: a path with an empty, "." or
// ".." component (a template variable that was empty for this ref turns
// "/srv/www/{repo}/{branch}" into its parent directory), and a gitmal output
// that is "/", the repository or one of its parents, or a parent of a path
// in the step's Keep (another gitmal job's output). `hookrun validate`
// reports the templates that can do this; this is the last line.
func checkPaths(u *plan.Unit, s *plan.Step) error {
	check := func(what, p string) error {
		if bad := badComponent(p); bad != "" {
			return fmt.Errorf("refusing to run: %s %q has %s; a template variable was probably empty or odd for this ref (run hookrun validate)", what, p, bad)
		}
		return nil
	}
	for _, c := range []struct{ what, p string }{
		{"working_directory", u.Dir}, {"the step's working_directory", s.Dir},
		{"the gitmal output", s.Output}, {"the forward-build path", s.Path},
	} {
		if err := check(c.what, c.p); err != nil {
			return err
		}
	}
	for _, p := range u.Sandbox.ReadWritePaths {
		if err := check("read_write_paths entry", p); err != nil {
			return err
		}
	}
	if s.Type != plan.TypeGitmal || s.Output == "" {
		return nil
	}
	out := absIn(WorkDir(u, s), s.Output)
	if out == "/" {
		return fmt.Errorf("refusing to run: the gitmal output %q is the root directory", s.Output)
	}
	if u.RepoPath != "" && within(absIn(WorkDir(u, s), u.RepoPath), out) {
		return fmt.Errorf("refusing to run: the gitmal output %s contains the repository %s, which the site swap would replace; point output elsewhere", out, u.RepoPath)
	}
	for _, k := range s.Keep {
		if k := absIn(WorkDir(u, s), k); k != out && within(k, out) {
			return fmt.Errorf("refusing to run: the gitmal output %s contains %s (another job's output), which the site swap would replace; give each site a directory of its own", out, k)
		}
	}
	return nil
}

// badComponent describes what is wrong with p's components, or is "".
func badComponent(p string) string {
	if p == "" || p == "/" {
		return ""
	}
	for i, c := range strings.Split(p, "/") {
		switch {
		case c == "" && i == 0:
			// the root of an absolute path
		case c == "":
			return "an empty path component (\"//\" or a trailing \"/\")"
		case c == "." || c == "..":
			return fmt.Sprintf("a %q path component", c)
		}
	}
	return ""
}

// absIn is p made absolute against dir and cleaned.
func absIn(dir, p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return filepath.Clean(p)
}

// within reports whether p is dir or inside it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}
