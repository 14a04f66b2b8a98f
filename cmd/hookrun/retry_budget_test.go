package main

import (
	"testing"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/notify"
)

// The configuration accepts the retry budgets the client can keep inside
// ExecStopPost's time; config may not import notify, so the two constants
// are compared here.
func TestRetryBudgetLimitsAgree(t *testing.T) {
	if config.MaxRetryBudget != notify.MaxRetryBudget {
		t.Errorf("config.MaxRetryBudget = %v, notify.MaxRetryBudget = %v", config.MaxRetryBudget, notify.MaxRetryBudget)
	}
}
