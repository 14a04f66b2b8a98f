package config

import (
	"errors"
	"testing"
)

func TestUnknownJob(t *testing.T) {
	c := &Config{Jobs: map[string]*Job{"build": {}, "deploy": {}}}
	if err := c.UnknownJob("build"); err != nil {
		t.Errorf("UnknownJob(build) = %v", err)
	}
	if err := c.UnknownJob("biuld"); err == nil || err.Error() != `no job "biuld" in the config (did you mean "build"?)` {
		t.Errorf("UnknownJob(biuld) = %v", err)
	}
	if err := c.UnknownJob("zzzzzzzz"); !errors.Is(err, ErrNoSuchJob) {
		t.Errorf("UnknownJob(zzzzzzzz) = %v; want ErrNoSuchJob", err)
	}
}
