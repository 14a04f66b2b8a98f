// Package notify tells people how a hookrun job ended, through ntfy.
//
// It has three parts, each usable on its own:
//
//   - Outcomes: [FromService] turns the environment systemd gives an
//     ExecStopPost= command ($SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS) into an
//     [Outcome] with a reason a person can read; [CancelledOutcome] is the outcome of
//     a job that a newer push replaced. [FormatDuration] renders durations as
//     "42s", "1m 23s" or "1h 2m 3s".
//   - Messages: [Build] turns a job's details and its outcome into a [Message]
//     (title, body, priority, tags), kept under ntfy's message size limit;
//     [ShouldNotify] applies the `on` filter of the configuration.
//   - Delivery: [Client.Publish] sends a message with ntfy's JSON publishing
//     API, with explicit timeouts and a short, bounded retry schedule for
//     connection errors, 429 and 5xx answers. [LoadToken] reads the access
//     token; the token is sent only in the Authorization header and never
//     appears in an error, a log line or a message.
//
// Publish judges the server URL, topic and token with internal/ntfyconf, the
// same code `hookrun validate` uses, so a push never fails on a value
// validate accepted.
//
// The package imports nothing else from hookrun but internal/ntfyconf.
package notify
