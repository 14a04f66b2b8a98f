// Package schema embeds the JSON Schema of hookrun's config files, for
// editors (taplo, Even Better TOML) and for hookrun's own tests.
package schema

import _ "embed"

// HooksSchema is schema/hooks.schema.json.
//
//go:embed hooks.schema.json
var HooksSchema []byte
