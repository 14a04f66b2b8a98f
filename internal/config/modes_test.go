package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// Every config field whose type plan owns is decoded as one of plan's
// values (it is in modes), never as any string; and no mode type is
// declared again in config.
func TestModesDecoded(t *testing.T) {
	seen := map[reflect.Type]bool{}
	found := map[reflect.Type]bool{}
	var walk func(t reflect.Type, path string)
	walk = func(rt reflect.Type, path string) {
		switch rt.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(rt.Elem(), path)
			return
		case reflect.Struct:
			if seen[rt] {
				return
			}
			seen[rt] = true
			for _, f := range fieldsOf(rt) {
				walk(rt.FieldByIndex(f.index).Type, path+"."+f.key)
			}
			return
		}
		if p := rt.PkgPath(); p == reflect.TypeFor[plan.Unit]().PkgPath() || p == reflect.TypeFor[match.Event]().PkgPath() {
			found[rt] = true
			if _, ok := modes[rt]; !ok {
				t.Errorf("%s is a %s, which config decodes as any string: add it to modes (config/modes.go)", path, rt)
			}
		}
	}
	walk(reflect.TypeFor[File](), "file")
	for rt := range modes {
		if !found[rt] {
			t.Errorf("modes has %s, which no config key uses", rt)
		}
	}
}

// Each value of each mode decodes to itself, a value plan does not have is
// an error with a suggestion, and the schema lists exactly plan's values.
func TestModeValuesDecode(t *testing.T) {
	for _, c := range []struct {
		key  string
		vals []string
		get  func(*Job) string
	}{
		{"runner", names(plan.Runners()), func(j *Job) string { return string(j.Runner) }},
		{"manager", names(plan.Managers()), func(j *Job) string { return string(j.Manager) }},
		{"concurrency", names(plan.Concurrencies()), func(j *Job) string { return string(j.Concurrency) }},
	} {
		for _, v := range c.vals {
			f, diags := parse(t, "version = 1\n[jobs.a]\ntype = \"command\"\ncommand = [\"/bin/true\"]\n"+c.key+" = \""+v+"\"\n")
			if diags.HasErrors() {
				t.Errorf("%s = %q: %v", c.key, v, diags)
				continue
			}
			if got := c.get(f.Jobs["a"]); got != v {
				t.Errorf("%s = %q decoded as %q", c.key, v, got)
			}
		}
		_, diags := parse(t, "version = 1\n[jobs.a]\ntype = \"command\"\ncommand = [\"/bin/true\"]\n"+c.key+" = \""+c.vals[0]+"x\"\n")
		if !strings.Contains(diags.Error(), `did you mean "`+c.vals[0]+`"`) {
			t.Errorf("%s = %q: diagnostics %q, want an error suggesting %q", c.key, c.vals[0]+"x", diags.Error(), c.vals[0])
		}
	}
	for _, jt := range plan.JobTypes() {
		f, _ := parse(t, "version = 1\n[jobs.a]\ntype = \""+string(jt)+"\"\n")
		if got := f.Jobs["a"].Type; got != jt {
			t.Errorf("type = %q decoded as %q", jt, got)
		}
	}
	for rt, vals := range modes {
		if got := typeSchema(rt)["enum"]; !reflect.DeepEqual(got, vals) {
			t.Errorf("schema of %s: enum %v, want %v", rt, got, vals)
		}
	}
}

// Job.Type's doc names every job type, and every key's types tag names
// only job types plan has: a type added to plan.JobTypes is documented and
// its keys are for it (docs/contributing.md, "Adding a job type").
func TestJobTypesNamed(t *testing.T) {
	fields := fieldsOf(reflect.TypeFor[Job]())
	for _, f := range fields {
		for _, jt := range append(slices.Clone(f.types), f.required...) {
			if jt != "*" && !slices.Contains(jobTypes, jt) {
				t.Errorf("jobs key %q is for type %q, which plan.JobTypes does not have", f.key, jt)
			}
		}
		if f.key == "type" {
			doc := f.tag.Get("doc")
			for _, jt := range jobTypes {
				if !strings.Contains(doc, jt) {
					t.Errorf("the doc of jobs.type (%q) does not name type %q", doc, jt)
				}
			}
		}
	}
}

// docs/config.md has a section for every job type, whose table names
// every key of that type (docs/contributing.md, "Adding a job type").
func TestJobTypesDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, jt := range jobTypes {
		head := "\n### `type = \"" + jt + "\"`"
		i := strings.Index(doc, head)
		if i < 0 {
			t.Errorf("docs/config.md has no section %q", strings.TrimSpace(head))
			continue
		}
		section := doc[i+len(head):]
		if end := strings.Index(section, "\n### "); end >= 0 {
			section = section[:end]
		}
		for _, f := range fieldsOf(reflect.TypeFor[Job]()) {
			if f.types != nil && slices.Contains(f.types, jt) && !strings.Contains(section, "| `"+f.key+"` |") {
				t.Errorf("docs/config.md, section of type %q: no row for its key %q", jt, f.key)
			}
		}
	}
}
