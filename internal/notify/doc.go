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
//   - The outbox: [Outbox.Post] keeps a [Letter] to send out of the
//     caller's path, [Spawn] starts its deliverer, [Deliver] sends it at
//     most once with the send function it is given (internal/ntfy's Send).
//
// Publishing over HTTP (the ntfy client, its token, ntfy as an
// outcome.Output) is internal/ntfy's, so that the packages a push links
// never link net/http.
//
// The package imports nothing else from hookrun but internal/atomicfile and
// internal/outcome.
package notify
