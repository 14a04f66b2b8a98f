package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hookrun/hookrun/schema"
)

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.HooksSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("hooks.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("hooks.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tomlAsJSON decodes TOML into the generic values a JSON Schema validator takes.
func tomlAsJSON(t testing.TB, src []byte) any {
	t.Helper()
	var raw map[string]any
	if _, err := toml.Decode(string(src), &raw); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestExamples: every examples/*.toml is valid for the decoder (warnings
// allowed) and for the JSON schema. repo-*.toml files are layered on
// examples/hookrun.toml, as on a server with that global config.
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.toml")
	if len(files) < 6 {
		t.Fatalf("want the example scenarios in examples/, found %v", files)
	}
	sch := compileSchema(t)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			global := ""
			if strings.HasPrefix(filepath.Base(path), "repo-") {
				global = "../../examples/hookrun.toml"
			}
			_, diags, err := Source{Global: global, GlobalExplicit: global != "", Repo: path}.Load()
			if err != nil {
				t.Fatal(err)
			}
			if diags.HasErrors() {
				t.Errorf("decoder rejects it:\n%v", diags)
			}
			src, _ := os.ReadFile(path)
			if err := sch.Validate(tomlAsJSON(t, src)); err != nil {
				t.Errorf("schema rejects it: %v", err)
			}
		})
	}
}

// TestSchemaAgreesWithDecoder: files the decoder rejects for a key, type or
// enum are rejected by the schema too, and the other way round.
func TestSchemaAgreesWithDecoder(t *testing.T) {
	sch := compileSchema(t)
	cases := []struct {
		name, src string
		valid     bool
	}{
		{"minimal", "version = 1\n", true},
		{"unknown top key", "version = 1\nfoo = 1\n", false},
		{"unknown job key", "version = 1\n[jobs.a]\ntype = \"command\"\ncommand = [\"x\"]\nfoo = 1\n", false},
		{"bad enum", "version = 1\n[defaults]\nconcurrency = \"sometimes\"\n", false},
		{"bad theme", "version = 1\n[jobs.a]\ntype = \"gitmal\"\noutput = \"/x\"\ntheme = \"github-light\"\n", false},
		{"key for other type", "version = 1\n[jobs.a]\ntype = \"command\"\ncommand = [\"x\"]\nscript = \"/x\"\n", false},
		{"missing required", "version = 1\n[jobs.a]\ntype = \"deploy\"\n", false},
		{"wrong type", "version = 1\n[defaults]\ntasks_max = \"many\"\n", false},
		{"bad cpu quota", "version = 1\n[defaults]\ncpu_quota = \"50\"\n", false},
		{"good limits", "version = 1\n[defaults]\ncpu_quota = \"200%\"\nmemory_max = \"1G\"\ntimeout = \"1h30m\"\ntasks_max = 5\nnice = -5\n", true},
		{"inline token", "version = 1\n[notify]\ntoken = \"tk_x\"\n", false},
		{"wrong version", "version = 2\n", false},
		{"bad event", "version = 1\n[jobs.a]\ntype = \"command\"\ncommand = [\"x\"]\n[[rules]]\nbranches = [\"main\"]\nevents = [\"push\"]\njobs = [\"a\"]\n", false},
		{"rule without jobs", "version = 1\n[[rules]]\nbranches = [\"main\"]\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, diags := Parse(strings.NewReader(c.src), "hooks.toml")
			if f != nil {
				_, md := Merge(nil, f)
				diags = append(diags, md...)
			}
			if got := !diags.HasErrors(); got != c.valid {
				t.Errorf("decoder valid = %v, want %v: %v", got, c.valid, diags)
			}
			err := sch.Validate(tomlAsJSON(t, []byte(c.src)))
			if got := err == nil; got != c.valid {
				t.Errorf("schema valid = %v, want %v: %v", got, c.valid, err)
			}
		})
	}
}
