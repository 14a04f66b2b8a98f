package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// parseMemoryBound is the most memory decoding any input up to
// MaxFileSize may take, above what the process used before: the file
// itself, the parser's tree of at most maxItems values nested at most
// maxDepth deep, the typed config and every diagnostic. The worst input
// found, 20,000 unknown keys (one diagnostic each), peaks at 24-32 MiB; the
// bound leaves room for the garbage collector's pacing.
const parseMemoryBound = 64 << 20

// memoryBombs are inputs of at most MaxFileSize bytes that cost the most
// to decode: deep nesting (also hidden behind every kind of string), long
// strings, many keys, many values, many tables, dotted keys, and files just
// under each limit.
func memoryBombs() map[string]string {
	fill := func(prefix, unit, suffix string) string {
		n := (MaxFileSize - len(prefix) - len(suffix)) / len(unit)
		return prefix + strings.Repeat(unit, n) + suffix
	}
	half := func(open, close string) string {
		n := (MaxFileSize - 100) / (len(open) + len(close))
		return "version = 1\nx = [ " + strings.Repeat(open, n) + strings.Repeat(close, n) + " ]\n"
	}
	var nearItems, nearTables, nearDeep strings.Builder
	nearItems.WriteString("version = 1\n")
	for i := 0; nearItems.Len() < MaxFileSize-100 && i < maxItems-10; i++ {
		fmt.Fprintf(&nearItems, "k%d = %q\n", i, strings.Repeat("v", 40))
	}
	nearTables.WriteString("version = 1\nx = [")
	for i := 0; i < maxItems/3-10; i++ {
		nearTables.WriteString(`{a="b"},`)
	}
	nearTables.WriteString("]\n")
	nearDeep.WriteString("version = 1\n")
	for i := 0; nearDeep.Len() < MaxFileSize-200 && i < maxItems/(maxDepth+1)-2; i++ {
		fmt.Fprintf(&nearDeep, "k%d = %s%q%s\n", i, strings.Repeat("[", maxDepth), strings.Repeat("s", 900), strings.Repeat("]", maxDepth))
	}
	return map[string]string{
		"nesting":                 half("[", "]"),
		"nesting after a string":  strings.Replace(half("[", "]"), "[ ", `[ """a"""", `, 1),
		"nesting after literal":   strings.Replace(half("[", "]"), "[ ", `[ '''a''', 'b', "c\"", `, 1),
		"inline tables":           half("{a=", "}"),
		"dotted keys":             fill("version = 1\n", "a.", "a = 1\n"),
		"dotted table header":     fill("version = 1\n[", "a.", "a]\n"),
		"long string":             fill(`version = 1`+"\nx = \"", "a", "\"\n"),
		"long multi-line string":  fill(`version = 1`+"\nx = \"\"\"", "[{", "\"\"\"\n"),
		"long key":                fill("version = 1\n", "k", " = 1\n"),
		"many keys":               fill("version = 1\n", "k = 1\n", ""),
		"many values":             fill("version = 1\nx = [", "1,", "]\n"),
		"many tables":             fill("version = 1\n", "[a]\n", ""),
		"just under the items":    nearItems.String(),
		"just under the tables":   nearTables.String(),
		"just under depth, often": nearDeep.String(),
	}
}

// TestParseMemory holds peak memory under parseMemoryBound for every bomb:
// each is decoded in a fresh process (this test binary), whose peak RSS
// (VmHWM) is compared with that of decoding a tiny file.
func TestParseMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector multiplies memory use; the bound is for real builds")
	}
	dir := t.TempDir()
	peak := func(name, src string) int64 {
		t.Helper()
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".toml")
		if len(src) > MaxFileSize {
			t.Fatalf("%s: %d bytes, more than MaxFileSize", name, len(src))
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestParseMemoryChild$", "-test.v")
		cmd.Env = append(os.Environ(), "HOOKRUN_PARSE_FILE="+p)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		// The child's own high-water mark: rusage's maxrss would count the
		// parent's size at fork.
		_, after, ok := strings.Cut(string(out), "VmHWM:")
		var kib int64
		if _, err := fmt.Sscan(after, &kib); !ok || err != nil {
			t.Fatalf("%s: no VmHWM in the child's output:\n%s", name, out)
		}
		return kib << 10
	}
	base := peak("baseline", "version = 1\n")
	for name, src := range memoryBombs() {
		got := peak(name, src) - base
		t.Logf("%-24s %7d bytes: %5.1f MiB above the baseline", name, len(src), float64(got)/(1<<20))
		if got > parseMemoryBound {
			t.Errorf("%s: decoding took %.1f MiB above the baseline, more than the %d MiB bound", name, float64(got)/(1<<20), parseMemoryBound>>20)
		}
	}
}

// TestParseMemoryChild decodes $HOOKRUN_PARSE_FILE, for TestParseMemory.
func TestParseMemoryChild(t *testing.T) {
	p := os.Getenv("HOOKRUN_PARSE_FILE")
	if p == "" {
		t.Skip("run by TestParseMemory")
	}
	f, diags, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = Merge(nil, f)
	_ = diags.Error()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			fmt.Println(l)
		}
	}
}

// TestMeasureStrings: brackets, dots, commas and quotes inside strings of
// every TOML kind, and in comments, are never counted.
func TestMeasureStrings(t *testing.T) {
	deep := strings.Repeat("[", 40) + strings.Repeat("{", 40) + strings.Repeat(".", 40) + strings.Repeat(",", 40)
	for name, src := range map[string]string{
		"basic":                            `x = "` + deep + `\"` + deep + "\"\n",
		"literal":                          "x = '" + deep + `\` + "'\n",
		"multi-line basic":                 `x = """` + "\n" + deep + "\n" + `\"""` + deep + "\n" + `"""` + "\n",
		"multi-line literal":               "x = '''\n" + deep + "\n'' " + deep + "\n'''\n",
		"ends with extra quotes":           `x = """a"""""` + "\ny = '''b'''''\nz = [1]\n",
		"comment":                          "# " + deep + "\nx = 1 # " + deep + "\n",
		"quoted key":                       `"` + deep + `" = 1` + "\n'" + deep + "' = 2\n",
		"issue: 33 in a multi-line string": `x = """` + "\n" + strings.Repeat("[", 33) + "\n" + `"""` + "\n",
	} {
		if sh := measure([]byte(src)); sh.depth > 2 || sh.items > 4 {
			t.Errorf("%s: measured %+v in\n%s", name, sh, src)
		}
		if _, diags := parse(t, "version = 1\n"+src); strings.Contains(diags.Error(), "nested") || strings.Contains(diags.Error(), "more than") {
			t.Errorf("%s: %v", name, diags)
		}
	}
	// The bypass the issue found: a string ending in four quotes, then
	// real nesting.
	if sh := measure([]byte(`x = [ """a"""", ` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + " ]\n")); sh.depth != 51 {
		t.Errorf(`nesting after """a"""": depth %d, want 51`, sh.depth)
	}
	if sh := measure([]byte("a.b.c.d = 1\n[e.f]\nx = {g.h.i = 1}\n")); sh.depth != 3 {
		t.Errorf("dotted keys: depth %d, want 3", sh.depth)
	}
}
