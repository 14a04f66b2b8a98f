package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/hookrun/hookrun/internal/plan"
)

// CheckHost reports, as warnings, what would fail when this machine runs c's
// jobs: a script, gitmal or absolute command that is missing or not
// executable, and a token_file that is missing, unreadable or readable by
// others. Unlike Parse and Merge it looks at files; paths with {templates}
// are skipped, since they are known only at push time. Forward-build
// commands run on the build host and are not checked.
func CheckHost(c *Config) Diagnostics {
	var out Diagnostics
	warn := func(f *File, path, format string, args ...any) {
		out = append(out, diagAt(f, Warning, path, fmt.Sprintf(format, args...)))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
		j, path := c.Jobs[name], "jobs."+name
		// By key, not by type: a new job type needs nothing here. A key
		// set on a type it is not for is the decoder's error, not checked.
		// Without gitmal = "...", the unit finds gitmal in its manager's
		// PATH, which need not be this shell's: not checked.
		if j.Gitmal != "" && keyOf(j.Type, "gitmal") {
			if msg := notExecutable(j.Gitmal); msg != "" {
				warn(c.jobFile(name, "gitmal"), path+".gitmal", "%s.gitmal: %s", path, msg)
			}
		}
		if s := string(j.Script); s != "" && keyOf(j.Type, "script") && !strings.Contains(s, "{") {
			if msg := notExecutable(s); msg != "" {
				warn(c.jobFile(name, "script"), path+".script", "%s.script: %s", path, msg)
			}
		}
		// A forward-build's command runs on the build host.
		if len(j.Command) > 0 && keyOf(j.Type, "command") && j.Type != plan.TypeForwardBuild {
			if p := string(j.Command[0]); strings.HasPrefix(p, "/") && !strings.Contains(p, "{") {
				if msg := notExecutable(p); msg != "" {
					warn(c.jobFile(name, "command"), path+".command[1]", "%s.command: %s", path, msg)
				}
			}
		}
	}
	if tf := c.Notify.TokenFile; tf != "" {
		f := c.Global
		if c.Repo != nil && c.Repo.Notify.Defined["token_file"] {
			f = c.Repo
		}
		if msg := tokenFileProblem(tf); msg != "" {
			warn(f, "notify.token_file", "notify.token_file: %s", msg)
		}
	}
	out.Sort()
	return out
}

// keyOf reports whether key is one of the keys of type t jobs.
func keyOf(t plan.JobType, key string) bool {
	for _, f := range fieldsOf(reflect.TypeFor[Job]()) {
		if f.key == key {
			return f.types == nil || slices.Contains(f.types, string(t))
		}
	}
	return false
}

// jobFile is the file that set key of job name: the repository's if it did,
// else the global one.
func (c *Config) jobFile(name, key string) *File {
	if c.Repo != nil {
		if j := c.Repo.Jobs[name]; j != nil && (j.Defined[key] || c.Global == nil || c.Global.Jobs[name] == nil) {
			return c.Repo
		}
	}
	return c.Global
}

// notExecutable says why path cannot be run here, or "".
func notExecutable(path string) string {
	st, err := os.Stat(path)
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return fmt.Sprintf("%s: %v on this machine; the job would fail", path, pe.Err)
	case err != nil:
		return fmt.Sprintf("%s: %v", path, err)
	case st.IsDir():
		return fmt.Sprintf("%s is a directory, not a program; the job would fail", path)
	case st.Mode()&0o111 == 0:
		return fmt.Sprintf("%s is not executable (mode %04o); the job would fail (fix: chmod +x %s)", path, st.Mode().Perm(), path)
	}
	return ""
}

// tokenFileProblem says why the token file would not work or is exposed, or "".
func tokenFileProblem(path string) string {
	fh, err := os.Open(path)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("cannot read %s: %v; no notification would be sent", path, pe.Err)
	} else if err != nil {
		return err.Error()
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err.Error()
	}
	if st.Mode().Perm()&0o044 != 0 {
		return fmt.Sprintf("%s is readable by others (mode %04o): anyone on this machine can publish with the token (fix: chmod 600 %s)", path, st.Mode().Perm(), path)
	}
	return ""
}
