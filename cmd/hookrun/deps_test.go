package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection keeps each package to its one job: lower packages
// never import the ones that wire them together (tailscale's deptest).
func TestImportDirection(t *testing.T) {
	const mod = "github.com/hookrun/hookrun/"
	forbidden := map[string][]string{
		"internal/match":    {"internal/"},
		"internal/config":   {"internal/runner", "internal/notify", "internal/job", "internal/resolve", "internal/plan"},
		"internal/plan":     {"internal/config", "internal/runner", "internal/notify", "internal/job"},
		"internal/notify":   {"internal/"},
		"internal/ntfyconf": {"internal/"},
		"internal/job":      {"internal/config", "internal/runner", "internal/notify", "internal/resolve"},
		"internal/runner":   {"internal/config", "internal/notify", "internal/job", "internal/resolve"},
		"internal/resolve":  {"internal/runner", "internal/notify", "internal/job"},
		"internal/digest":   {"internal/config", "internal/runner", "internal/notify", "internal/job", "internal/resolve"},
	}
	// Exceptions to a ban above: notify judges its settings with the same
	// code as the config validator.
	allowed := map[string][]string{"internal/notify": {"internal/ntfyconf"}}
	for pkg, bans := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			rel, ok := strings.CutPrefix(dep, mod)
			if !ok || rel == pkg || slices.Contains(allowed[pkg], rel) {
				continue
			}
			for _, ban := range bans {
				if strings.HasPrefix(rel, ban) {
					t.Errorf("%s imports %s", pkg, rel)
				}
			}
		}
	}
}
