package config

import (
	"slices"

	"github.com/hookrun/hookrun/internal/suggest"
)

// LightThemes and DarkThemes are the themes gitmal v1.0.2 accepts: the
// keys of themeStyles in its themes.go (chroma style names). gitmal panics
// on anything else.
var LightThemes = []string{
	"abap", "algol", "arduino", "autumn", "borland", "bw", "catppuccin-latte", "colorful",
	"emacs", "friendly", "github", "gruvbox-light", "igor", "lovelace", "manni",
	"modus-operandi", "monokailight", "murphy", "paraiso-light", "pastie", "perldoc",
	"pygments", "rainbow_dash", "rose-pine-dawn", "solarized-light", "tango",
	"tokyonight-day", "trac", "vs", "xcode",
}

// DarkThemes: see LightThemes.
var DarkThemes = []string{
	"average", "base16-snazzy", "catppuccin-frappe", "catppuccin-macchiato",
	"catppuccin-mocha", "doom-one", "doom-one2", "dracula", "evergarden", "fruity",
	"github-dark", "gruvbox", "hrdark", "modus-vivendi", "monokai", "native", "nord",
	"nordic", "onedark", "onesenterprise", "paraiso-dark", "rose-pine-moon", "rose-pine",
	"rpgle", "rrt", "solarized-dark", "solarized-dark256", "swapoff", "tokyonight-moon",
	"tokyonight-night", "tokyonight-storm", "vim", "vulcan", "witchhazel", "xcode-dark",
}

// GitmalThemes are all the themes gitmal accepts, light then dark.
var GitmalThemes = slices.Concat(LightThemes, DarkThemes)

// DefaultTheme is used when a gitmal job names none.
const DefaultTheme = "github-dark"

// themeAliases maps names people expect (the old hook documented them) to the
// real theme that looks like what they meant.
var themeAliases = map[string]string{
	"github-light": "github",
	"light":        "github",
	"dark":         "github-dark",
	"auto":         "github",
	"default":      "github",
}

// IsTheme reports whether gitmal accepts name.
func IsTheme(name string) bool { return slices.Contains(GitmalThemes, name) }

// NearestTheme suggests a real theme for an invalid name, or "".
func NearestTheme(name string) string {
	if a, ok := themeAliases[name]; ok {
		return a
	}
	return nearest(name, GitmalThemes)
}

// nearest returns the candidate closest to s by edit distance, when close
// enough to be a likely typo.
func nearest(s string, candidates []string) string { return suggest.Nearest(s, candidates) }
