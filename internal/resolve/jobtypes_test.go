package resolve

import (
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// sampleJobs is a job of each type, as hooks.toml keys. A job type added to
// plan.JobTypes needs one here (docs/contributing.md, "Adding a job type").
var sampleJobs = map[plan.JobType]string{
	plan.TypeGitmal:       `output = "/srv/www/{repo}"`,
	plan.TypeForwardBuild: "host = \"builder@buildhost\"\npath = \"src/{repo}\"\ncommand = [\"make\"]",
	plan.TypeDeploy:       `script = "/srv/deploy.sh"`,
	plan.TypeCommand:      `command = ["/bin/true"]`,
	plan.TypeSequence:     `steps = ["helper"]`,
}

// Every job type decodes, resolves and plans a step of its own (a
// sequence: its jobs' steps), with what it runs filled in.
func TestEveryJobTypePlans(t *testing.T) {
	for _, jt := range plan.JobTypes() {
		keys, ok := sampleJobs[jt]
		if !ok {
			t.Errorf("job type %q has no sample job in sampleJobs", jt)
			continue
		}
		c := load(t, "version = 1\n[jobs.x]\ntype = \""+string(jt)+"\"\n"+keys+
			"\n[jobs.helper]\ntype = \"command\"\ncommand = [\"/bin/echo\", \"{short}\"]\n[[rules]]\nbranches = [\"main\"]\njobs = [\"x\"]\n")
		out, err := Resolve(c, push(match.RefUpdate{Old: zero, New: a, Name: "refs/heads/main"}))
		if err != nil {
			t.Errorf("type %q: %v", jt, err)
			continue
		}
		if len(out.Units) != 1 || out.Units[0].Type != jt || len(out.Units[0].Steps) != 1 {
			t.Errorf("type %q: units %+v, want one unit of that type with one step", jt, out.Units)
			continue
		}
		st := out.Units[0].Steps[0]
		want := jt
		if jt == plan.TypeSequence {
			want = plan.TypeCommand
		}
		if st.Type != want || len(st.Argv) == 0 && len(st.Command) == 0 {
			t.Errorf("type %q: step %+v, want a %s step with what it runs", jt, st, want)
		}
	}
}

// A job type resolve has no step for is an error at plan time, never an
// empty step found when the unit runs.
func TestUnknownJobTypeIsAnError(t *testing.T) {
	c := load(t, "version = 1\n[jobs.x]\ntype = \"command\"\ncommand = [\"/bin/true\"]\n[[rules]]\nbranches = [\"main\"]\njobs = [\"x\"]\n")
	c.Jobs["x"].Type = "made-up"
	_, err := Resolve(c, push(match.RefUpdate{Old: zero, New: a, Name: "refs/heads/main"}))
	if err == nil || !strings.Contains(err.Error(), `jobs.x: hookrun cannot plan a job of type "made-up"`) {
		t.Errorf("Resolve = %v, want an error naming the job and its type", err)
	}
	if _, err := JobUnit(c, push(), "x", []match.RefUpdate{{Old: zero, New: a, Name: "refs/heads/main"}}); err == nil {
		t.Error("JobUnit of a made-up type: no error")
	}
}
