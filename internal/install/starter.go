package install

import (
	"os"
	"path/filepath"
)

// starterConfig is what init writes; cmd/hookrun/testdata/script/init_config.txtar
// keeps it valid without warnings (validate --strict).
const starterConfig = `# hookrun configuration for this repository (see docs/config.md).
# Check it:    hookrun validate hooks.toml
# Preview:     hookrun plan --ref main
version = 1

# Settings every job inherits.
[defaults]
timeout = "30m"       # the unit is stopped after this long
# memory_max = "1G"
# cpu_quota = "100%"   # one CPU
# concurrency = "queue" # parallel (default), queue, replace or coalesce

# Notifications of every outcome through ntfy.
# [notify]
# server = "https://ntfy.sh"
# topic = "git-builds"
# token_file = "/etc/hookrun/ntfy-token"   # mode 0600, readable by the git user only

[jobs.hello]
type = "command"
command = ["echo", "pushed", "{ref}", "at", "{short}"]   # argv: no shell sees it

# A static site of the repository, built with gitmal.
# [jobs.site]
# type = "gitmal"
# output = "/srv/www/git/{repo}"

# A deploy script, given the branch and the commit.
# [jobs.deploy]
# type = "deploy"
# script = "/etc/git-hooks/deploy.sh"
# args = ["{branch}", "{commit}"]

[[rules]]
name = "main"
branches = ["main"]   # branch names, not refs/heads/main
jobs = ["hello"]

# [[rules]]
# name = "releases"
# tags = ["v*"]
# jobs = ["deploy"]
`

// SchemaLine is the `#:schema` line (for editors with TOML schema support)
// init writes first: the schema installed beside the hookrun binary
// (PREFIX/share/hookrun for PREFIX/bin/hookrun, whatever PREFIX is), else
// built (the path the build was made for, main.SchemaPath); without either,
// a comment saying where the schema is.
func SchemaLine(self, built string) string {
	if self != "" {
		p := filepath.Join(filepath.Dir(filepath.Dir(self)), "share", "hookrun", "hooks.schema.json")
		if _, err := os.Stat(p); err == nil {
			return "#:schema " + p + "\n"
		}
	}
	if built != "" {
		return "#:schema " + built + "\n"
	}
	return "# JSON schema: schema/hooks.schema.json in hookrun's source ('make install' puts it in PREFIX/share/hookrun)\n"
}

// WriteStarter writes the starter hooks.toml to path, after the line
// SchemaLine gave. An existing file is kept (an error that is
// os.ErrExist) unless force.
func WriteStarter(path, schemaLine string, force bool) error {
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, mode, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(schemaLine + starterConfig); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
