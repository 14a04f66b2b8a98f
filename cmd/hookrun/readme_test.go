package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommands keeps the README's command table in step with the
// command table: every command has a row naming it and each of its flags.
func TestREADMECommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Commands\n")
	if !ok {
		t.Fatal("README.md has no ## Commands section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{} // command -> the cells naming it
	cell := regexp.MustCompile("`hookrun ([a-z-]+)[^`]*`")
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `hookrun ") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			rows[m[1]] += m[0]
		}
	}
	a := &app{commands: commandTable()}
	for _, c := range a.visibleCommands() {
		row, ok := rows[c.name]
		if !ok {
			t.Errorf("README.md: no row for `hookrun %s`", c.name)
			continue
		}
		for _, f := range doc(c).Flags {
			if !regexp.MustCompile(`--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(row) {
				t.Errorf("README.md: the row of `hookrun %s` lacks --%s", c.name, f.Name)
			}
		}
		delete(rows, c.name)
	}
	for name := range rows {
		if a.command(name) == nil {
			t.Errorf("README.md lists `hookrun %s`, which is not a command", name)
		}
	}
}
