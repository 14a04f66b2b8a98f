// Package plan holds the resolved plan of a push: for every unit that will
// start, exactly what it runs, with which limits, environment and
// notification settings. `hookrun plan` prints it, the post-receive hook
// starts it, and `hookrun exec` runs it later from the copy saved at push
// time, so a later edit of hooks.toml never changes a queued job.
package plan

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

// Version of the on-disk plan format written for `hookrun exec`.
const Version = 1

// Unit is one transient unit (or one exec-runner process).
type Unit struct {
	Version     int         `json:"version"`
	Name        string      `json:"name"` // e.g. git-site-web-20261122-101500-3f9a1c.service
	Job         string      `json:"job"`
	Type        JobType     `json:"type"`
	Repo        string      `json:"repo"`
	RepoPath    string      `json:"repo_path"`
	Created     time.Time   `json:"created"`
	Refs        []Ref       `json:"refs"`             // one, or all matched refs for per = "push"
	Rules       []string    `json:"rules"`            // rules that selected the job, e.g. "hooks.toml rules[2]"
	Signer      string      `json:"signer,omitempty"` // push certificate signer, when signed
	Pusher      string      `json:"pusher,omitempty"` // who pushed, as the server says, or "(unknown)"
	Steps       []Step      `json:"steps"`            // one, or a sequence's steps in order
	Env         []string    `json:"env"`              // KEY=VALUE, HOOKRUN_* and the job's environment
	Dir         string      `json:"working_directory,omitempty"`
	Limits      Limits      `json:"limits"`
	Runner      Runner      `json:"runner"`
	Manager     Manager     `json:"manager"`
	User        string      `json:"user,omitempty"`
	Group       string      `json:"group,omitempty"`
	Concurrency Concurrency `json:"concurrency"`
	// Seq orders the units of the same repo+job that wait for their turn
	// (concurrency = "queue" and "coalesce").
	Seq     uint64  `json:"seq,omitempty"`
	Sandbox Sandbox `json:"sandbox"`
	Notify  Notify  `json:"notify"`
	// ChangedFiles are the paths of the files the unit's refs changed,
	// each ended by a NUL, as git stores them (bytes: not necessarily
	// UTF-8, possibly with newlines; base64 in JSON keeps them exact). Set
	// only when a rule with paths selected the job; the job finds them in
	// the file HOOKRUN_CHANGED_FILES_FILE names.
	ChangedFiles []byte `json:"changed_files,omitempty"`
	// Host, when set, is the other machine whose user manager runs the
	// unit (host = "NAME"); the git server only watches it and notifies.
	Host *Host `json:"host,omitempty"`
	// Outputs are where the outcome goes besides ntfy: [site], [forge],
	// [[webhook]]; nil: nowhere else.
	Outputs *Outputs `json:"outputs,omitempty"`
}

// Outputs are the outputs of a unit's outcome besides ntfy.
type Outputs struct {
	Site     *Site     `json:"site,omitempty"`
	Forge    *Forge    `json:"forge,omitempty"`
	Webhooks []Webhook `json:"webhooks,omitempty"`
	// RetryBudget bounds each delivery, retries included ([notify]
	// retry_budget: the same rules for every output); 0: the default.
	RetryBudget time.Duration `json:"retry_budget,omitempty"`
}

// Site is [site]: the status site in Dir, reached at URL.
type Site struct {
	Dir  string `json:"dir"`
	URL  string `json:"url,omitempty"`
	Logs bool   `json:"logs,omitempty"`
}

// Forge is [forge]: commit statuses of Owner/Repo on the forge at URL.
// Owner and Repo come from repo = "owner/name", else from the forge's hook
// environment at push time (empty: the delivery says so).
type Forge struct {
	URL       string `json:"url"`
	TokenFile string `json:"token_file,omitempty"`
	Owner     string `json:"owner,omitempty"`
	Repo      string `json:"repo,omitempty"`
}

// Webhook is one [[webhook]].
type Webhook struct {
	URL        string         `json:"url"`
	SecretFile string         `json:"secret_file,omitempty"`
	On         []outcome.Kind `json:"on,omitempty"`
}

// Host is a [hosts.NAME] entry as a unit runs on it.
type Host struct {
	Name       string   `json:"name"`
	SSH        string   `json:"ssh"`
	SSHOptions []string `json:"ssh_options,omitempty"`
	RuntimeDir string   `json:"runtime_dir,omitempty"` // empty: /run/user/UID, found with id -u
	Hookrun    string   `json:"hookrun,omitempty"`     // empty: hookrun from the remote PATH
	// LostContact bounds how long the watcher tries to reach a host it
	// lost (0: remote.DefaultLostContact).
	LostContact time.Duration `json:"lost_contact,omitempty"`
	// Mirror is the repository's mirror on the host; set at push time.
	Mirror string `json:"mirror,omitempty"`
	// Limits and Sandbox are the job's own, kept here once the unit here
	// became the watcher of the one there (with the watcher's limits), so
	// that a rerun ships them again.
	Limits  *Limits  `json:"limits,omitempty"`
	Sandbox *Sandbox `json:"sandbox,omitempty"`
}

// Runner is how a unit starts.
type Runner string

// Runners.
const (
	RunnerSystemd Runner = "systemd" // a transient unit of a systemd manager
	RunnerExec    Runner = "exec"    // a detached `hookrun exec --supervise` process
	RunnerAuto    Runner = "auto"    // systemd, else exec when no manager is reachable
)

// Runners is every Runner, in the order the docs give them. The modes of
// this file are the one list of each: config decodes and documents
// exactly these values, and the plan saves them.
func Runners() []Runner { return []Runner{RunnerSystemd, RunnerExec, RunnerAuto} }

// Manager is the systemd manager a unit belongs to.
type Manager string

// Managers.
const (
	ManagerUser   Manager = "user"
	ManagerSystem Manager = "system"
)

// Managers is every Manager.
func Managers() []Manager { return []Manager{ManagerUser, ManagerSystem} }

// Concurrency is what a unit does about other live units of the same
// repository and job.
type Concurrency string

// Concurrency modes.
const (
	Parallel Concurrency = "parallel" // run alongside them
	Queue    Concurrency = "queue"    // wait for every earlier one, in push order
	Replace  Concurrency = "replace"  // stop them (they end cancelled)
	// Coalesce keeps at most one running and one pending: a newer push
	// cancels the pending one and waits for the running one, never stops it.
	Coalesce Concurrency = "coalesce"
)

// Concurrencies is every Concurrency mode.
func Concurrencies() []Concurrency { return []Concurrency{Parallel, Queue, Replace, Coalesce} }

// Waits reports whether units of c wait for earlier ones (queue, coalesce).
func (c Concurrency) Waits() bool { return c == Queue || c == Coalesce }

// JobType is the kind of work a unit or step does. Adding one is
// docs/contributing.md's "Adding a job type": its name here, its keys in
// config.Job, its step in resolve, its run in job, its section in
// docs/config.md; tests fail until each is there.
type JobType string

// Job types.
const (
	TypeGitmal       JobType = "gitmal"        // a static site of the repository
	TypeForwardBuild JobType = "forward-build" // push to a build host and run a command there
	TypeDeploy       JobType = "deploy"        // a script with arguments
	TypeCommand      JobType = "command"       // an argv
	TypeSequence     JobType = "sequence"      // other jobs, one after the other, in one unit
)

// JobTypes is every JobType, in the order the docs give them.
func JobTypes() []JobType {
	return []JobType{TypeGitmal, TypeForwardBuild, TypeDeploy, TypeCommand, TypeSequence}
}

// Ref is one ref update with everything templates may refer to.
type Ref struct {
	Ref    string `json:"ref"`
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Old    string `json:"old"`
	New    string `json:"new"`
	// Commit is the commit an annotated tag's New points to (peeled), when
	// it differs from New; messages and {commit} use it.
	Commit string `json:"commit,omitempty"`
	Event  string `json:"event"`
}

// Target is the commit the ref now names: New, or for an annotated tag the
// commit it points to.
func (r Ref) Target() string {
	if r.Commit != "" {
		return r.Commit
	}
	return r.New
}

// TargetShort is the 7-character abbreviation of Target.
func (r Ref) TargetShort() string { return Ref{New: r.Target()}.Short() }

// Short is the 7-character abbreviation of the new object name.
func (r Ref) Short() string {
	if len(r.New) < 7 {
		return r.New
	}
	return r.New[:7]
}

// Step is one thing a unit runs. Argv is final: templates are expanded and no
// shell ever sees it.
type Step struct {
	Name string   `json:"name"` // job name of the step
	Type JobType  `json:"type"`
	Argv []string `json:"argv"` // for gitmal: the full gitmal command line, --output pointing at Output
	Dir  string   `json:"working_directory,omitempty"`
	Env  []string `json:"env,omitempty"` // the step job's own environment (sequence steps)

	// gitmal: the site directory that a fresh build replaces atomically,
	// and paths the swap must never replace: the outputs of the other
	// gitmal jobs of the config, expanded for the same ref.
	Output string   `json:"output,omitempty"`
	Keep   []string `json:"keep,omitempty"`

	// forward-build: push Rev to Host:Path, then run Command there.
	Host       string   `json:"host,omitempty"`
	Path       string   `json:"path,omitempty"`
	Command    []string `json:"command,omitempty"`
	Rev        string   `json:"rev,omitempty"`
	SSHOptions []string `json:"ssh_options,omitempty"`
}

// Limits are resource limits; zero values mean "not set".
type Limits struct {
	Timeout     time.Duration `json:"timeout,omitempty"`       // RuntimeMaxSec
	CPUQuotaPct uint64        `json:"cpu_quota_pct,omitempty"` // CPUQuota in percent (200 = two CPUs)
	MemoryMax   uint64        `json:"memory_max,omitempty"`    // bytes; Infinity for "infinity"
	TasksMax    uint64        `json:"tasks_max,omitempty"`     // count
	Nice        *int          `json:"nice,omitempty"`          // -20..19
	LogMax      uint64        `json:"log_max,omitempty"`       // bytes of the log file (0: the default); Infinity: no bound
}

// MaxRefsEnvBytes bounds the HOOKRUN_REFS environment entry: the kernel
// refuses to start a program with one environment string over 128 KiB
// (MAX_ARG_STRLEN), and the unit's environment also counts towards the
// whole argument space. 64 KiB holds about 560 SHA-1 ref lines; a longer
// list is left out of the environment, and HOOKRUN_REFS_FILE always has it
// whole.
const MaxRefsEnvBytes = 64 << 10

// Infinity is the systemd encoding of an unlimited value.
const Infinity = ^uint64(0)

// Sandbox holds optional systemd hardening settings.
type Sandbox struct {
	NoNewPrivileges bool     `json:"no_new_privileges,omitempty"`
	PrivateTmp      bool     `json:"private_tmp,omitempty"`
	ProtectSystem   string   `json:"protect_system,omitempty"` // "", true, full, strict
	ReadWritePaths  []string `json:"read_write_paths,omitempty"`
}

// Notify is where and when the unit's outcome is published.
type Notify struct {
	Server    string         `json:"server,omitempty"` // ntfy base URL; empty: no notification
	Topic     string         `json:"topic,omitempty"`
	TokenFile string         `json:"token_file,omitempty"`
	On        []outcome.Kind `json:"on,omitempty"` // outcomes that notify: success, failure, cancelled
	Click     string         `json:"click,omitempty"`
	// RetryBudget bounds the delivery, retries included; 0 is the
	// client's default ([notify] retry_budget).
	RetryBudget time.Duration `json:"retry_budget,omitempty"`
	// DigestOver is [notify] digest_over: a push with more units notifying
	// the same topic sends one digest for them (0: never).
	DigestOver int `json:"digest_over,omitempty"`
	// Digest, when set, is the directory of the push digest this unit
	// reports into instead of notifying on its own (internal/digest).
	Digest string `json:"digest,omitempty"`
	// Priority is the job's priority (1-5), overriding the outcome's
	// default; 0: the outcome's.
	Priority int `json:"priority,omitempty"`
	// LogLines is [notify] log_lines: the last lines of the job's output
	// a failure notification carries (0: none).
	LogLines int `json:"log_lines,omitempty"`
}

// Push is the resolved plan of one hook run.
type Push struct {
	Units []*Unit `json:"units"`
	// Matches explain, per ref and rule, why a rule did or did not select it.
	Matches []Match `json:"matches"`
}

// Match is one rule decision for one ref, for `hookrun plan`.
type Match struct {
	Ref    string   `json:"ref"`
	Rule   string   `json:"rule"` // e.g. "hooks.toml rules[2]"
	Match  bool     `json:"match"`
	Reason string   `json:"reason"`
	Jobs   []string `json:"jobs,omitempty"`
	// File is, for a rule with paths that matched, the first changed file
	// its paths select.
	File string `json:"file,omitempty"`
}

// Load reads a plan saved by unit.Store.Save. An empty or cut file is an
// error, never a plan.
func Load(path string) (*Unit, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	u, err := Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return u, nil
}

// Unmarshal is the plan Marshal encoded.
func Unmarshal(b []byte) (*Unit, error) {
	var u Unit
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, err
	}
	if u.Version != Version {
		return nil, fmt.Errorf("format version %d, this hookrun reads %d", u.Version, Version)
	}
	return (&u).decoded(), nil
}
