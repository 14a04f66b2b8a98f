package ntfy

import (
	"context"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
)

// Output is ntfy as an outcome.Output, beside the site, the forge and the
// webhooks: it publishes the message Message builds for a record through
// Client, under the same delivery rules (outcome.Policy, by way of
// Client.Publish). A push's digest and its outbox letters are ntfy's own
// batching of these messages, not other outputs.
type Output struct {
	Client  *Client
	Topic   string
	Message func(outcome.Record) notify.Message
}

var _ outcome.Output = (*Output)(nil)

// Name names the topic, never the token.
func (o *Output) Name() string { return "ntfy " + o.Topic }

// Deliver publishes r's message; its error wraps outcome.ErrMaybeDelivered
// where ntfy may have delivered it.
func (o *Output) Deliver(ctx context.Context, r outcome.Record) error {
	return o.Client.Publish(ctx, o.Message(r))
}
