package main

import (
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedImports is the import allowlist: for every package under internal/,
// the internal packages it may import directly (its _test.go files are
// free). A package missing here fails TestImportDirection, and so does an
// import its entry does not list. Keep each list to what the package's one
// job needs; imports go down, never back up to what wires packages together.
var allowedImports = map[string][]string{
	// Leaves: nothing internal but layout (a leaf itself), which names every
	// path hookrun keeps; atomicfile (below), the one way to replace a file;
	// and outcome, the outcome vocabulary. plan forwards its old path
	// helpers to layout, repoindex asks it where the index is.
	"internal/match":     {},
	"internal/suggest":   {},
	"internal/ntfyconf":  {},
	"internal/layout":    {},
	"internal/history":   {"internal/atomicfile", "internal/outcome"}, // outcome: a record's result and deliveries
	"internal/install":   {"internal/atomicfile"},
	"internal/plan":      {"internal/jsonw", "internal/layout", "internal/outcome"}, // outcome: the `on` list is outcome.Kinds
	"internal/repoindex": {"internal/atomicfile", "internal/layout"},
	"internal/secrets":   {}, // gitleaks' rules and their scanner: content in, findings out
	// The outcome vocabulary and the Output seam every output implements.
	"internal/outcome": {},
	// httppost sends one HTTP POST of a delivery, classified for
	// outcome.Policy; kept out of outcome so that outcome (and what a push
	// links) does not link net/http.
	"internal/httppost": {"internal/outcome"},
	// Outputs: each implements outcome.Output; the HTTP ones post through
	// httppost.
	"internal/webhook": {"internal/httppost", "internal/outcome"},
	"internal/forge":   {"internal/httppost", "internal/outcome"},
	"internal/site":    {"internal/atomicfile", "internal/outcome"},
	// ntfy publishes notify's messages and letters over HTTP (ntfyconf
	// judges its URL, topic and token; httppost reads Retry-After); kept
	// out of notify so that a push, which only posts letters, never links
	// net/http.
	"internal/ntfy": {"internal/httppost", "internal/notify", "internal/ntfyconf", "internal/outcome"},

	// plan: the modes (job type, runner, manager, concurrency) are plan's
	// types, which config decodes: one list of each (config/modes.go).
	"internal/config":  {"internal/match", "internal/ntfyconf", "internal/outcome", "internal/plan", "internal/suggest"}, // outcome: `on` lists are outcome.Kinds
	"internal/gitx":    {"internal/match"},
	"internal/resolve": {"internal/config", "internal/match", "internal/plan"},
	"internal/notify":  {"internal/atomicfile", "internal/outcome"}, // outcome: one duration format
	"internal/digest":  {"internal/atomicfile", "internal/layout", "internal/outcome", "internal/plan"},
	"internal/unit":    {"internal/atomicfile", "internal/history", "internal/job", "internal/jsonw", "internal/layout", "internal/notify", "internal/outcome", "internal/plan", "internal/runner"},
	"internal/job":     {"internal/gitx", "internal/layout", "internal/plan"},
	"internal/runner":  {"internal/gitx", "internal/layout", "internal/plan"},
	"internal/remote":  {"internal/atomicfile", "internal/gitx", "internal/history", "internal/job", "internal/layout", "internal/outcome", "internal/plan", "internal/runner", "internal/unit"},
	"internal/policy":  {"internal/config", "internal/gitx", "internal/match", "internal/notify", "internal/secrets"}, // secrets: secrets = true scans blobs with it
	// checkjob runs policy check jobs: it resolves their units (resolve), runs
	// them isolated (runner), words their end as notifications do (notify),
	// sets the check unit's concurrency (plan's mode).
	// pushcert verifies push certificates (match parses them).
	"internal/pushcert": {"internal/gitx", "internal/match"}, // gitx: the environment git and gpg run with
	"internal/checkjob": {"internal/config", "internal/gitx", "internal/job", "internal/match", "internal/notify", "internal/plan", "internal/policy", "internal/resolve", "internal/runner"},
	// report owns a unit's end: it records the outcome (unit, history,
	// digest), hands it to the outputs (ntfy, site, forge, webhook) and
	// records each delivery;
	// it reads the repository's config for a unit whose plan is lost
	// (config), follows remote units (remote) and asks the managers what
	// they know for reconcile (runner); job quotes the hints it prints,
	// repoindex lists a repository that had a failed push, gitx names it.
	// push: one post-receive, from its input to the started units; what
	// failed goes to a push.Failures (report in hookrun, a hand-off to
	// hookrun in hookrun-hook), so it links no output and no HTTP client.
	"internal/push": {"internal/config", "internal/digest", "internal/gitx", "internal/hookinput", "internal/job", "internal/layout", "internal/match", "internal/plan", "internal/pushcert", "internal/remote", "internal/repoindex", "internal/resolve", "internal/runner", "internal/unit"},
	// hookbin: hookrun-hook's program, a post-receive through push with
	// what failed handed to hookrun.
	"internal/hookbin": {"internal/config", "internal/hookinput", "internal/install", "internal/push"},
	"internal/report":  {"internal/config", "internal/digest", "internal/gitx", "internal/history", "internal/forge", "internal/job", "internal/layout", "internal/match", "internal/notify", "internal/ntfy", "internal/outcome", "internal/plan", "internal/remote", "internal/repoindex", "internal/runner", "internal/site", "internal/unit", "internal/webhook"},
	// supervise runs one unit's job (job) from its start to its recorded
	// end (unit), reporting it (report) when no ExecStopPost will.
	// hookinput reads a hook's ref lines (match) and its config, checked.
	// clidoc renders man pages and completion scripts from a description
	// of the commands: text in, text out.
	"internal/clidoc":    {},
	"internal/hookinput": {"internal/config", "internal/match"},
	"internal/supervise": {"internal/job", "internal/outcome", "internal/plan", "internal/report", "internal/unit"},

	// Issue 23's thin CLI: each command's logic in the package of its concept.
	// planview writes a plan for people: argv as shell lines (job), sizes as
	// notifications write them (notify), the outcomes notified (outcome).
	"internal/planview": {"internal/job", "internal/notify", "internal/outcome", "internal/plan"},
	// validate checks configs and their repositories' hooks (install), the
	// limits this machine's manager can apply (runner), secrets files
	// (policy), and redacts URLs in what it says (ntfyconf).
	"internal/validate": {"internal/config", "internal/install", "internal/ntfyconf", "internal/plan", "internal/policy", "internal/runner"},
	// status gathers what 'hookrun status' shows: histories, states and
	// plans (unit, layout), the managers' units (runner), and lays out the
	// table as notifications write refs and durations (notify).
	"internal/status": {"internal/history", "internal/layout", "internal/notify", "internal/outcome", "internal/plan", "internal/runner", "internal/unit"},
	// logs reads a unit's output and end: its log and state (unit), the
	// history and its outcome kinds, a did-you-mean for a job name (suggest).
	"internal/logs": {"internal/history", "internal/job", "internal/layout", "internal/notify", "internal/outcome", "internal/suggest", "internal/unit"},

	// Test helpers: imported only by tests, the demo and bench. skiptest is
	// the one skip-or-fail rule every helper of a real part applies.
	"internal/skiptest":    {},
	"internal/systemdtest": {"internal/skiptest"},
	"internal/sshtest":     {"internal/skiptest"},
	"internal/hosttest":    {"internal/skiptest", "internal/sshtest", "internal/systemdtest"},
	"internal/ntfytest":    {},
	"internal/peertest":    {"internal/skiptest"},
	"internal/waittest":    {}, // the one way tests wait for a condition
	"internal/filltest":    {}, // every field set, for encoders held to encoding/json

	// The one write-and-rename (and fsync policy) of the files readers must
	// see whole; the packages that replace files import it.
	"internal/atomicfile": {},
	// JSON written as encoding/json writes it, without its reflection: for
	// what the hook saves (plans, states) in a process that starts cold.
	"internal/jsonw": {},
}

// testHelpers are the packages no command may import outside its tests.
var testHelpers = []string{"internal/systemdtest", "internal/sshtest", "internal/hosttest", "internal/ntfytest", "internal/peertest", "internal/skiptest", "internal/waittest", "internal/filltest"}

const modulePath = "github.com/hookrun/hookrun/"

// TestImportDirection keeps each package to its one job (tailscale's
// deptest, as an allowlist): every internal package has an entry in
// allowedImports and imports nothing else internal; cmd/hookrun imports no
// test helper.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", modulePath+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		pkg, ok := strings.CutPrefix(f[0], modulePath)
		if !ok {
			continue
		}
		imports[pkg] = nil
		for _, imp := range f[1:] {
			if rel, ok := strings.CutPrefix(imp, modulePath); ok {
				imports[pkg] = append(imports[pkg], rel)
			}
		}
	}
	for _, msg := range checkImports(imports, allowedImports) {
		t.Error(msg)
	}
}

// checkImports returns one message per violation of allowed by imports
// (package -> its direct imports within the module, module-relative).
func checkImports(imports, allowed map[string][]string) []string {
	var msgs []string
	for _, pkg := range slices.Sorted(maps.Keys(imports)) {
		deps := imports[pkg]
		if pkg == "cmd/hookrun" {
			for _, dep := range deps {
				if slices.Contains(testHelpers, dep) {
					msgs = append(msgs, fmt.Sprintf("%s imports the test helper %s outside its tests: use it only from _test.go files", pkg, dep))
				}
			}
			continue
		}
		if !strings.HasPrefix(pkg, "internal/") {
			continue // commands, the demo and bench wire packages together
		}
		ok, listed := allowed[pkg]
		if !listed {
			quoted := make([]string, len(deps))
			for i, d := range deps {
				quoted[i] = fmt.Sprintf("%q", d)
			}
			msgs = append(msgs, fmt.Sprintf("%s has no entry in the import allowlist. Add this line to allowedImports in cmd/hookrun/deps_test.go (its imports today; keep only what its one job needs):\n\t%q: {%s},",
				pkg, pkg, strings.Join(quoted, ", ")))
			continue
		}
		for _, dep := range deps {
			if !slices.Contains(ok, dep) {
				msgs = append(msgs, fmt.Sprintf("%s imports %s, which its entry in allowedImports (cmd/hookrun/deps_test.go) does not allow: move the code that needs it up to a package that wires the two together, or, if %s belongs below %s, add %q to allowedImports[%q]",
					pkg, dep, dep, pkg, dep, pkg))
			}
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(allowed)) {
		if _, ok := imports[pkg]; !ok {
			msgs = append(msgs, fmt.Sprintf("allowedImports (cmd/hookrun/deps_test.go) has an entry for %s, which is no package: remove it", pkg))
		}
	}
	return msgs
}

// TestImportAllowlistFails: the check reports a new package without an
// entry (saying what to add), an import its entry lacks, a stale entry, and
// a test helper in the command.
func TestImportAllowlistFails(t *testing.T) {
	allowed := map[string][]string{"internal/match": {}, "internal/config": {"internal/match"}, "internal/gone": {}}
	imports := map[string][]string{
		"internal/match":  {},
		"internal/config": {"internal/match", "internal/runner"},
		"internal/policy": {"internal/config", "internal/match"},
		"cmd/hookrun":     {"internal/config", "internal/peertest"},
	}
	got := strings.Join(checkImports(imports, allowed), "\n")
	for _, want := range []string{
		"cmd/hookrun imports the test helper internal/peertest outside its tests",
		"internal/config imports internal/runner, which its entry in allowedImports (cmd/hookrun/deps_test.go) does not allow",
		`add "internal/runner" to allowedImports["internal/config"]`,
		"internal/policy has no entry in the import allowlist. Add this line to allowedImports in cmd/hookrun/deps_test.go",
		"\t\"internal/policy\": {\"internal/config\", \"internal/match\"},",
		"has an entry for internal/gone, which is no package: remove it",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("messages do not say %q:\n%s", want, got)
		}
	}
	if n := len(checkImports(map[string][]string{"internal/match": {}}, map[string][]string{"internal/match": {}})); n != 0 {
		t.Errorf("%d messages for a clean tree", n)
	}
}

// hookPath lists the packages the post-receive hook links (the small
// hookrun-hook binary, issue 25): a push pays the start-up of every
// package here, so none may link HTTP, TLS, templates or XML, nor reach
// the outputs, which run at a unit's end, never during a push.
var hookPath = []string{
	"internal/hookinput", "internal/config", "internal/match", "internal/resolve", "internal/plan",
	"internal/outcome", "internal/runner", "internal/unit", "internal/digest", "internal/history",
	"internal/notify", "internal/remote", "internal/repoindex", "internal/pushcert", "internal/gitx",
	"internal/layout", "internal/atomicfile", "internal/install", "internal/job", "internal/ntfyconf",
	"internal/suggest", "internal/push", "internal/hookbin",
}

// hookPathForbidden are the packages no package of hookPath may link,
// directly or not.
var hookPathForbidden = []string{
	"net/http", "crypto/tls", "html/template", "text/template", "encoding/xml",
	modulePath + "internal/report", modulePath + "internal/site", modulePath + "internal/forge",
	modulePath + "internal/webhook", modulePath + "internal/ntfy", modulePath + "internal/httppost",
}

// TestHookPathLinksNoHTTP: `go list -deps` of each hook path package holds
// none of hookPathForbidden.
func TestHookPathLinksNoHTTP(t *testing.T) {
	roots := make([]string, len(hookPath))
	for i, p := range hookPath {
		roots[i] = modulePath + p
	}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}"}, roots...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps of hookPath: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		graph[f[0]] = f[1:]
	}
	for _, msg := range checkLinks(graph, roots, hookPathForbidden) {
		t.Error(msg)
	}
}

// checkLinks returns one message for each root of graph (package -> its
// direct imports) that links a forbidden package, naming the shortest
// chain of imports that brings it in.
func checkLinks(graph map[string][]string, roots, forbidden []string) []string {
	var msgs []string
	for _, root := range roots {
		if _, ok := graph[root]; !ok {
			msgs = append(msgs, fmt.Sprintf("%s is not a package: remove it from hookPath in cmd/hookrun/deps_test.go", strings.TrimPrefix(root, modulePath)))
			continue
		}
		from := map[string]string{root: ""}
		queue := []string{root}
		for len(queue) > 0 {
			pkg := queue[0]
			queue = queue[1:]
			for _, imp := range graph[pkg] {
				if _, seen := from[imp]; !seen {
					from[imp] = pkg
					queue = append(queue, imp)
				}
			}
		}
		for _, bad := range forbidden {
			if _, ok := from[bad]; !ok {
				continue
			}
			var chain []string
			for p := bad; p != ""; p = from[p] {
				chain = append(chain, strings.TrimPrefix(p, modulePath))
			}
			slices.Reverse(chain)
			msgs = append(msgs, fmt.Sprintf("%s, which the post-receive hook links, links %s (%s): move the code that needs it out of the hook's packages (as internal/ntfy and internal/httppost are)",
				strings.TrimPrefix(root, modulePath), strings.TrimPrefix(bad, modulePath), strings.Join(chain, " -> ")))
		}
	}
	return msgs
}

// TestHookPathCheckFails: the check names a forbidden package reached
// through others, with the chain, and a root that is no package.
func TestHookPathCheckFails(t *testing.T) {
	graph := map[string][]string{
		modulePath + "internal/unit":   {modulePath + "internal/notify", "os"},
		modulePath + "internal/notify": {"net/http"},
		"net/http":                     {"crypto/tls"},
		"crypto/tls":                   {},
		"os":                           {},
	}
	got := strings.Join(checkLinks(graph, []string{modulePath + "internal/unit", modulePath + "internal/gone"}, []string{"crypto/tls", "encoding/xml"}), "\n")
	for _, want := range []string{
		"internal/unit, which the post-receive hook links, links crypto/tls (internal/unit -> internal/notify -> net/http -> crypto/tls)",
		"internal/gone is not a package: remove it from hookPath",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("messages do not say %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "encoding/xml") {
		t.Errorf("a package not linked is reported:\n%s", got)
	}
}
