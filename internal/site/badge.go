package site

import (
	"fmt"
	"html"

	"github.com/hookrun/hookrun/internal/outcome"
)

// badgeColours are shields.io's colours.
var badgeColours = map[outcome.Kind]string{
	outcome.Success:    "#4c1",    // brightgreen
	outcome.Failure:    "#e05d44", // red
	outcome.Cancelled:  "#9f9f9f", // lightgrey
	outcome.Lost:       "#fe7d37", // orange
	outcome.NotStarted: "#e05d44",
}

// textWidth estimates the width of s in 11 px Verdana, as shields does
// with its tables (about 7 px per character; narrow ones less).
func textWidth(s string) int {
	w := 0
	for _, c := range s {
		switch c {
		case 'i', 'l', 'j', ' ', '.', ',', ':', '|', '!', 'I', 't', 'f', 'r':
			w += 4
		case 'm', 'w', 'M', 'W':
			w += 10
		default:
			w += 7
		}
	}
	return w
}

// badge is a shields-style flat badge: "hookrun | passing".
func badge(k outcome.Kind) []byte {
	left, right := "hookrun", kindLabel(k)
	colour := badgeColours[k]
	if colour == "" {
		colour = "#9f9f9f"
	}
	lw, rw := textWidth(left)+10, textWidth(right)+10
	w := lw + rw
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="%[2]s: %[3]s">
<title>%[2]s: %[3]s</title>
<linearGradient id="s" x2="0" y2="100%%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="%[1]d" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="%[4]d" height="20" fill="#555"/><rect x="%[4]d" width="%[5]d" height="20" fill="%[6]s"/><rect width="%[1]d" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="%[7]d" y="15" fill="#010101" fill-opacity=".3">%[2]s</text><text x="%[7]d" y="14">%[2]s</text>
<text x="%[8]d" y="15" fill="#010101" fill-opacity=".3">%[3]s</text><text x="%[8]d" y="14">%[3]s</text>
</g>
</svg>
`, w, html.EscapeString(left), html.EscapeString(right), lw, rw, colour, lw/2, lw+rw/2)
}
