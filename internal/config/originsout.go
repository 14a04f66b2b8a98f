package config

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteOrigins writes where each setting of c comes from (Origins), as
// `hookrun config` shows it: a table, or JSON when asJSON. globalPath and
// repoFile are the files c was loaded from.
func WriteOrigins(w io.Writer, c *Config, globalPath, repoFile string, asJSON bool) error {
	origins := Origins(c.Global, c.Repo)
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Global   string   `json:"global"`
			Repo     string   `json:"repo"`
			Settings []Origin `json:"settings"`
		}{filePresent(c.Global, globalPath), filePresent(c.Repo, repoFile), origins})
	}
	fmt.Fprintf(w, "# global:     %s\n# repository: %s\n", describeFile(c.Global, globalPath), describeFile(c.Repo, repoFile))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, o := range origins {
		where := "default"
		if o.File != "" {
			where = fmt.Sprintf("%s:%d", o.File, o.Line)
		}
		line := where + "\t" + o.Key + " = " + o.Value
		if len(o.Overrides) > 0 {
			line += "\t(overrides " + strings.Join(o.Overrides, ", ") + ")"
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func filePresent(f *File, path string) string {
	if f == nil {
		return ""
	}
	return path
}

func describeFile(f *File, path string) string {
	if f == nil {
		return path + " (not present)"
	}
	return path
}
