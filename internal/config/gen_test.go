package config

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/hookrun/hookrun/schema"
)

var update = flag.Bool("update", false, "rewrite golden files and schema/hooks.schema.json")

// TestSchemaInSync fails when the committed schema differs from the one the
// decoder's struct tags describe. Run `go test ./internal/config -update`
// (or `make schema`) after changing a key.
func TestSchemaInSync(t *testing.T) {
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("../../schema/hooks.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, schema.HooksSchema) {
		t.Fatal("schema/hooks.schema.json is out of date with the config decoder; run: make schema")
	}
}
