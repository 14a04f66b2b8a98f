package unit

import (
	"github.com/hookrun/hookrun/internal/jsonw"
)

// Marshal is the state record as a state file holds it (without its
// newline): what json.Marshal writes for st (TestStateMarshalIsJSONs holds
// it to that, field by field), without encoding/json's reflection, which
// cost a hook that starts cold some 0.07 ms for its first state. A field
// added to State or the types in it goes here too; the test fails until
// it does.
func (st *State) Marshal() ([]byte, error) {
	w := &jsonw.Writer{B: make([]byte, 0, 512)}
	w.Open()
	w.IntField("version", int64(st.Version), false)
	w.StringField("unit", st.Unit, false)
	w.StringField("repo", st.Repo, false)
	w.StringField("job", st.Job, false)
	w.StringField("concurrency", string(st.Concurrency), false)
	w.UintField("seq", st.Seq, true)
	w.StringField("runner", string(st.Runner), false)
	w.StringField("manager", string(st.Manager), true)
	w.StringField("phase", string(st.Phase), false)
	w.TimeField("saved", st.Saved, false)
	w.TimeField("started", st.Started, true)
	w.TimeField("running", st.Running, true)
	w.TimeField("job_start", st.JobStart, true)
	w.TimeField("ended", st.Ended, true)
	w.IntField("pid", int64(st.PID), true)
	w.StringField("start_error", st.StartErr, true)
	if c := st.Cancel; c != nil {
		w.Key("cancel")
		w.Open()
		w.StringField("reason", c.Reason, false)
		w.TimeField("at", c.At, false)
		w.Close()
	}
	if e := st.Exit; e != nil {
		w.Key("exit")
		w.Open()
		w.TimeField("at", e.At, false)
		w.IntField("code", int64(e.Code), true)
		w.StringField("signal", e.Signal, true)
		w.BoolField("core_dump", e.CoreDump, true)
		w.BoolField("timed_out", e.TimedOut, true)
		w.BoolField("stopped", e.Stopped, true)
		w.BoolField("not_run", e.NotRun, true)
		w.StringField("step", e.Step, true)
		w.StringField("detail", e.Detail, true)
		w.StringField("error", e.Error, true)
		writeOutcome(w, "remote", e.Remote)
		w.Close()
	}
	writeOutcome(w, "outcome", st.Outcome)
	if d := st.Delivery; d != nil {
		w.Key("delivery")
		w.Open()
		w.Key("status")
		w.Text(d.Status)
		w.IntField("digest", int64(d.Digest), true)
		w.TimeField("at", d.At, false)
		w.IntField("attempts", int64(d.Attempts), true)
		w.StringField("error", d.Error, true)
		w.Close()
	}
	writeOutcome(w, "corrected_from", st.CorrectedFrom)
	w.Close()
	return w.B, w.Err
}

func writeOutcome(w *jsonw.Writer, k string, o *Outcome) {
	if o == nil {
		return
	}
	w.Key(k)
	w.Open()
	w.Key("kind")
	w.Text(o.Kind)
	w.StringField("reason", o.Reason, true)
	w.IntField("duration", int64(o.Duration), false)
	w.Close()
}
