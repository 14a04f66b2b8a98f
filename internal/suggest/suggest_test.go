package suggest

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"status", "validate", "version", "install", "uninstall", "logs"}
	for _, tc := range []struct{ in, want string }{
		{"stauts", "status"},
		{"valdiate", "validate"},
		{"lgos", "logs"},
		{"versoin", "version"},
		{"frobnicate", ""},
		{"", ""},
	} {
		if got := Nearest(tc.in, names); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"status", "stauts", 2}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
