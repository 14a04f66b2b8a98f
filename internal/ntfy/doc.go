// Package ntfy publishes to an ntfy server over HTTP: the [Client] (ntfy's
// JSON publishing API, at most once, under outcome.Policy's delivery rules
// with ntfy's error codes and hints on top), [Send] of an outbox letter
// (notify.Deliver's send), and [Output], ntfy as an outcome.Output.
// [LoadToken] reads the access token; the token is sent only in the
// Authorization header and never appears in an error, a log line or a
// message.
//
// Publish judges the server URL, topic and token with internal/ntfyconf, the
// same code `hookrun validate` uses, so a push never fails on a value
// validate accepted.
//
// What a notification says (notify's messages and outcomes) and the outbox
// that holds it are internal/notify's, which links no net/http: a push
// posts letters and never publishes itself.
package ntfy
