package config

import (
	"regexp"
	"testing"

	"github.com/hookrun/hookrun/internal/ntfyconf"
)

// FuzzNameRules keeps the hand-written name checks equal to the patterns the
// JSON schema publishes.
func FuzzNameRules(f *testing.F) {
	for _, s := range []string{"site", "deploy-prod", "a.b_c", "-x", "", "1job", "GOFLAGS", "_X", "9A", "bad name", "ü", "topic-1_x"} {
		f.Add(s)
	}
	job, env, topic := regexp.MustCompile(jobNamePattern), regexp.MustCompile(envNamePattern), regexp.MustCompile(ntfyconf.TopicPattern)
	f.Fuzz(func(t *testing.T, s string) {
		if validJobName(s) != job.MatchString(s) || validEnvName(s) != env.MatchString(s) || ntfyconf.ValidTopic(s) != topic.MatchString(s) {
			t.Fatalf("%q: job %v/%v env %v/%v topic %v/%v", s, validJobName(s), job.MatchString(s), validEnvName(s), env.MatchString(s), ntfyconf.ValidTopic(s), topic.MatchString(s))
		}
	})
}
