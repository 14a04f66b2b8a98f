package main

import (
	"github.com/hookrun/hookrun/internal/config"
)

// checkConfigSafety refuses config files that someone other than the hook's
// user (or root) could have written: they decide what runs.
func (a *app) checkConfigSafety(insecure bool, paths ...string) error {
	if !insecure && a.getenv("HOOKRUN_INSECURE_CONFIG") == "1" {
		insecure = true
	}
	for _, p := range paths {
		err := config.CheckOwnership(p)
		if err == nil {
			continue
		}
		if insecure {
			a.warnf("%v; accepted because of --insecure-config/HOOKRUN_INSECURE_CONFIG=1", err)
			continue
		}
		a.errorf("%v", err)
		a.hintf("fix it (chmod go-w; chown) or, knowingly, pass --insecure-config or set HOOKRUN_INSECURE_CONFIG=1; nothing was started")
		return &exitError{exitFailure, nil}
	}
	return nil
}
