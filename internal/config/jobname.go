package config

import (
	"fmt"
	"maps"
	"slices"
)

// UnknownJob says that c has no job name, with the nearest name it has
// when one is near (nil when c has the job). Without a near name its error
// is ErrNoSuchJob, for the caller to say where to look.
func (c *Config) UnknownJob(name string) error {
	if c.Jobs[name] != nil {
		return nil
	}
	if m := nearest(name, slices.Sorted(maps.Keys(c.Jobs))); m != "" {
		return fmt.Errorf("no job %q in the config (did you mean %q?)", name, m)
	}
	return ErrNoSuchJob
}

// ErrNoSuchJob is UnknownJob's error when no job name is near.
var ErrNoSuchJob = fmt.Errorf("no such job in the config")
