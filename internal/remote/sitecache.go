package remote

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/layout"
)

// siteRecord is what the git server keeps of a Site between pushes, in
// $GIT_DIR/hookrun/hosts/NAME.json: with it a push ships to the host at
// once, checking the mirror in parallel, instead of preparing it first.
type siteRecord struct {
	SSH        string   `json:"ssh"`
	SSHOptions []string `json:"ssh_options"`
	Configured string   `json:"configured_runtime_dir"` // the host's runtime_dir setting
	UID        int      `json:"uid"`
	Home       string   `json:"home"`
	RuntimeDir string   `json:"runtime_dir"`
	Mirror     string   `json:"mirror"`
}

func siteFile(repoPath, host string) string {
	return layout.HostSite(repoPath, host)
}

// loadSite is the Site a previous push to h recorded for the repository,
// or nil (none, unreadable, or h's settings have changed since).
func loadSite(repoPath string, h *Host) *Site {
	if !oneElement(h.Name) {
		return nil
	}
	b, err := os.ReadFile(siteFile(repoPath, h.Name))
	if err != nil {
		return nil
	}
	var r siteRecord
	if json.Unmarshal(b, &r) != nil || r.SSH != h.SSH || !slices.Equal(r.SSHOptions, h.SSHOptions) ||
		r.Configured != h.RuntimeDir || r.Mirror == "" || r.RuntimeDir == "" {
		return nil
	}
	return &Site{Host: h, UID: r.UID, Home: r.Home, RuntimeDir: r.RuntimeDir, Mirror: r.Mirror}
}

// storeSite records s for the next push (replaced whole; errors only cost
// the next push a sequential preparation).
func storeSite(repoPath string, s *Site, configured string) {
	if !oneElement(s.Host.Name) {
		return
	}
	b, err := json.Marshal(siteRecord{SSH: s.Host.SSH, SSHOptions: s.Host.SSHOptions, Configured: configured,
		UID: s.UID, Home: s.Home, RuntimeDir: s.RuntimeDir, Mirror: s.Mirror})
	if err != nil {
		return
	}
	path := siteFile(repoPath, s.Host.Name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	_ = atomicfile.Write(path, b, 0o600) // a cache: the next call finds the site again
}

// sameSite reports whether a and b place the mirror and the manager alike.
func sameSite(a, b *Site) bool {
	return a.UID == b.UID && a.Home == b.Home && a.Mirror == b.Mirror && a.RuntimeDir == b.RuntimeDir
}
