package plan

import (
	"time"

	"github.com/hookrun/hookrun/internal/jsonw"
)

// Marshal is the unit's plan as saved (unit.Store.Save writes it). Strings
// that are not valid UTF-8 (refnames, paths) are saved with EncodeString,
// so that Load gives back the same bytes.
//
// It writes what json.Marshal writes for the unit (TestMarshalIsJSONs
// holds it to that, field by field) without encoding/json's reflection:
// the hook saves a plan per unit in a process that starts cold, where the
// first json.Marshal of a Unit took some 0.3 ms to build its encoder.
// A field added to Unit or the types in it goes here too; the test fails
// until it does.
func (u *Unit) Marshal() ([]byte, error) {
	w := &jsonw.Writer{B: make([]byte, 0, 1024)}
	u.write(w)
	return w.B, w.Err
}

// str writes field k, the string s as saved (EncodeString).
func str[S ~string](w *jsonw.Writer, k string, s S, omit bool) {
	w.StringField(k, EncodeString(string(s)), omit)
}

func strs(w *jsonw.Writer, k string, ss []string, omit bool) {
	jsonw.ArrayField(w, k, ss, omit, func(s *string) { w.String(EncodeString(*s)) })
}

func dur(w *jsonw.Writer, k string, d time.Duration) { w.IntField(k, int64(d), true) }

func (u *Unit) write(w *jsonw.Writer) {
	w.Open()
	w.IntField("version", int64(u.Version), false)
	str(w, "name", u.Name, false)
	str(w, "job", u.Job, false)
	str(w, "type", u.Type, false)
	str(w, "repo", u.Repo, false)
	str(w, "repo_path", u.RepoPath, false)
	w.TimeField("created", u.Created, false)
	jsonw.ArrayField(w, "refs", u.Refs, false, func(r *Ref) { r.write(w) })
	strs(w, "rules", u.Rules, false)
	str(w, "signer", u.Signer, true)
	str(w, "pusher", u.Pusher, true)
	jsonw.ArrayField(w, "steps", u.Steps, false, func(s *Step) { s.write(w) })
	strs(w, "env", u.Env, false)
	str(w, "working_directory", u.Dir, true)
	w.Key("limits")
	u.Limits.write(w)
	str(w, "runner", u.Runner, false)
	str(w, "manager", u.Manager, false)
	str(w, "user", u.User, true)
	str(w, "group", u.Group, true)
	str(w, "concurrency", u.Concurrency, false)
	w.UintField("seq", u.Seq, true)
	w.Key("sandbox")
	u.Sandbox.write(w)
	w.Key("notify")
	u.Notify.write(w)
	if len(u.ChangedFiles) > 0 {
		w.Key("changed_files")
		w.Bytes(u.ChangedFiles)
	}
	if u.Host != nil {
		w.Key("host")
		u.Host.write(w)
	}
	if u.Outputs != nil {
		w.Key("outputs")
		u.Outputs.write(w)
	}
	w.Close()
}

func (r *Ref) write(w *jsonw.Writer) {
	w.Open()
	str(w, "ref", r.Ref, false)
	str(w, "branch", r.Branch, true)
	str(w, "tag", r.Tag, true)
	str(w, "old", r.Old, false)
	str(w, "new", r.New, false)
	str(w, "commit", r.Commit, true)
	str(w, "event", r.Event, false)
	w.Close()
}

func (s *Step) write(w *jsonw.Writer) {
	w.Open()
	str(w, "name", s.Name, false)
	str(w, "type", s.Type, false)
	strs(w, "argv", s.Argv, false)
	str(w, "working_directory", s.Dir, true)
	strs(w, "env", s.Env, true)
	str(w, "output", s.Output, true)
	strs(w, "keep", s.Keep, true)
	str(w, "host", s.Host, true)
	str(w, "path", s.Path, true)
	strs(w, "command", s.Command, true)
	str(w, "rev", s.Rev, true)
	strs(w, "ssh_options", s.SSHOptions, true)
	w.Close()
}

func (l *Limits) write(w *jsonw.Writer) {
	w.Open()
	dur(w, "timeout", l.Timeout)
	w.UintField("cpu_quota_pct", l.CPUQuotaPct, true)
	w.UintField("memory_max", l.MemoryMax, true)
	w.UintField("tasks_max", l.TasksMax, true)
	if l.Nice != nil {
		w.IntField("nice", int64(*l.Nice), false)
	}
	w.UintField("log_max", l.LogMax, true)
	w.Close()
}

func (s *Sandbox) write(w *jsonw.Writer) {
	w.Open()
	w.BoolField("no_new_privileges", s.NoNewPrivileges, true)
	w.BoolField("private_tmp", s.PrivateTmp, true)
	str(w, "protect_system", s.ProtectSystem, true)
	strs(w, "read_write_paths", s.ReadWritePaths, true)
	w.Close()
}

func (n *Notify) write(w *jsonw.Writer) {
	w.Open()
	str(w, "server", n.Server, true)
	str(w, "topic", n.Topic, true)
	str(w, "token_file", n.TokenFile, true)
	jsonw.TextsField(w, "on", n.On, true)
	str(w, "click", n.Click, true)
	dur(w, "retry_budget", n.RetryBudget)
	w.IntField("digest_over", int64(n.DigestOver), true)
	str(w, "digest", n.Digest, true)
	w.IntField("priority", int64(n.Priority), true)
	w.IntField("log_lines", int64(n.LogLines), true)
	w.Close()
}

func (h *Host) write(w *jsonw.Writer) {
	w.Open()
	str(w, "name", h.Name, false)
	str(w, "ssh", h.SSH, false)
	strs(w, "ssh_options", h.SSHOptions, true)
	str(w, "runtime_dir", h.RuntimeDir, true)
	str(w, "hookrun", h.Hookrun, true)
	dur(w, "lost_contact", h.LostContact)
	str(w, "mirror", h.Mirror, true)
	if h.Limits != nil {
		w.Key("limits")
		h.Limits.write(w)
	}
	if h.Sandbox != nil {
		w.Key("sandbox")
		h.Sandbox.write(w)
	}
	w.Close()
}

func (o *Outputs) write(w *jsonw.Writer) {
	w.Open()
	if s := o.Site; s != nil {
		w.Key("site")
		w.Open()
		str(w, "dir", s.Dir, false)
		str(w, "url", s.URL, true)
		w.BoolField("logs", s.Logs, true)
		w.Close()
	}
	if f := o.Forge; f != nil {
		w.Key("forge")
		w.Open()
		str(w, "url", f.URL, false)
		str(w, "token_file", f.TokenFile, true)
		str(w, "owner", f.Owner, true)
		str(w, "repo", f.Repo, true)
		w.Close()
	}
	jsonw.ArrayField(w, "webhooks", o.Webhooks, true, func(h *Webhook) {
		w.Open()
		str(w, "url", h.URL, false)
		str(w, "secret_file", h.SecretFile, true)
		jsonw.TextsField(w, "on", h.On, true)
		w.Close()
	})
	dur(w, "retry_budget", o.RetryBudget)
	w.Close()
}
