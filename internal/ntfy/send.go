package ntfy

import (
	"context"
	"io"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
)

// Send publishes l's message to its server and topic with the token of its
// token file (or getenv's HOOKRUN_NTFY_TOKEN) and returns what became of
// it, as the delivery of output "ntfy": delivered, not delivered, or
// maybe delivered (ErrMaybeDelivered), classified by outcome.DeliveryOf.
// log gets the retries.
func Send(ctx context.Context, l notify.Letter, getenv func(string) string, log io.Writer) outcome.Delivery {
	token, err := LoadToken(l.TokenFile, getenv)
	if err != nil {
		return outcome.DeliveryOf(outcome.Ntfy, err)
	}
	c := &Client{Server: l.Server, Token: token, Log: log, RetryBudget: l.RetryBudget}
	ctx, cancel := context.WithTimeout(ctx, notify.MaxRetryBudget+DefaultAttemptTimeout)
	defer cancel()
	return outcome.DeliveryOf(outcome.Ntfy, c.Publish(ctx, l.Message))
}
