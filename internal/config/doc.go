// Package config decodes and checks hookrun's configuration: the optional
// server-wide file and each repository's hooks.toml (schema version 1).
//
// Decoding is strict and reports every problem at once, each with its
// file:line:col: unknown keys (with a did-you-mean), wrong types, bad enums,
// durations, sizes, CPU quotas, templates and gitmal themes, then what spans
// files (job references, sequence cycles, required keys per job type). Parse
// is pure; Load reads files; Merge layers a repository file over the global
// one. The struct tags in types.go are the one description of the keys: the
// decoder, the layering and the JSON schema (Schema) all derive from them.
package config
