package config

import (
	"time"

	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// SchemaVersion is the only config schema version this hookrun reads.
const SchemaVersion = 1

// File is one decoded config file, global or per repository. Struct tags are
// the single source of truth for keys: the decoder, the overlay and the JSON
// schema are all derived from them.
//
//	toml:"key"        the TOML key
//	types:"a,b"       job key used only by these job types
//	required:"a,b"    job key required by these job types ("*" for all)
//	doc:"..."         description for the schema
type File struct {
	Version      int              `toml:"version" required:"*" doc:"schema version; must be 1"`
	InheritRules *bool            `toml:"inherit_rules" doc:"repo file only: false ignores the global file's rules"`
	Defaults     Settings         `toml:"defaults" doc:"settings every job inherits unless it sets its own"`
	Notify       Notify           `toml:"notify" doc:"where unit outcomes are published (ntfy)"`
	Site         Site             `toml:"site" doc:"the static status site hookrun writes (pages, badges, feeds)"`
	Forge        Forge            `toml:"forge" doc:"commit statuses on a Gitea or Forgejo forge"`
	Webhooks     []*Webhook       `toml:"webhook" doc:"URLs each outcome is POSTed to as signed JSON"`
	Jobs         map[string]*Job  `toml:"jobs" doc:"jobs by name"`
	Hosts        map[string]*Host `toml:"hosts" doc:"other machines whose systemd user manager runs jobs that name them (host = \"NAME\"), reached over ssh"`
	Rules        []*Rule          `toml:"rules" doc:"which refs start which jobs"`

	Policies        []*Policy `toml:"policy" doc:"push policies checked before any ref moves (pre-receive)"`
	InheritPolicies *bool     `toml:"inherit_policies" doc:"repo file only: false ignores the global file's policies, except those marked final"`
	DisablePolicies []string  `toml:"disable_policies" doc:"repo file only: names of global policies not to apply here (final ones cannot be disabled)"`
	SecretsConfig   string    `toml:"secrets_config" doc:"gitleaks config file (absolute path, gitleaks' format) whose rules secrets = true uses instead of gitleaks' default rules, or besides them with [extend] useDefault = true"`
	SecretsIgnore   string    `toml:"secrets_ignore" doc:"server-side file (absolute path) of gitleaks fingerprints, as in .gitleaksignore, whose findings secrets = true lets through"`

	Name    string `toml:"-"` // file name, for messages
	Defined keySet `toml:"-"`
	pos     *positions
}

// Settings are the keys a job inherits from [defaults].
type Settings struct {
	Runner           plan.Runner         `toml:"runner" doc:"systemd (default), exec, or auto (systemd if reachable, else exec)"`
	Manager          plan.Manager        `toml:"manager" doc:"user (default) or system systemd manager"`
	User             string              `toml:"user" doc:"system manager only: User= of the unit"`
	Group            string              `toml:"group" doc:"system manager only: Group= of the unit"`
	Timeout          Duration            `toml:"timeout" doc:"RuntimeMaxSec: the job is stopped after this long"`
	CPUQuota         CPUQuota            `toml:"cpu_quota" doc:"CPUQuota, e.g. \"50%\""`
	MemoryMax        Size                `toml:"memory_max" doc:"MemoryMax, e.g. \"512M\""`
	TasksMax         Count               `toml:"tasks_max" doc:"TasksMax: most processes and threads"`
	LogMax           Size                `toml:"log_max" doc:"bound of the job's log file under $GIT_DIR/hookrun/logs, e.g. \"50M\" (default 10M; infinity: none): past it the log keeps its beginning and its end, with a line marking the cut"`
	Nice             *Nice               `toml:"nice" doc:"Nice= from -20 to 19"`
	Concurrency      plan.Concurrency    `toml:"concurrency" doc:"parallel (default), queue, replace, or coalesce"`
	Per              Per                 `toml:"per" doc:"ref (default): one unit per matched ref; push: one per push"`
	Environment      map[string]Template `toml:"environment" doc:"extra environment variables"`
	WorkingDirectory Template            `toml:"working_directory" doc:"working directory of the job (default: the repository)"`
	Topic            string              `toml:"topic" doc:"ntfy topic for this job's notifications"`
	NotifyOn         []Outcome           `toml:"notify_on" doc:"outcomes that notify for this job"`
	Priority         *Priority           `toml:"priority" doc:"ntfy priority 1 (min) to 5 (max) of this job's notifications (default: by outcome)"`

	NoNewPrivileges *bool         `toml:"no_new_privileges" doc:"systemd NoNewPrivileges="`
	PrivateTmp      *bool         `toml:"private_tmp" doc:"systemd PrivateTmp="`
	ProtectSystem   ProtectSystem `toml:"protect_system" doc:"systemd ProtectSystem=: true, full or strict"`
	ReadWritePaths  []Template    `toml:"read_write_paths" doc:"systemd ReadWritePaths="`

	Defined keySet `toml:"-"`
}

// Notify is the [notify] table.
type Notify struct {
	Server    string    `toml:"server" doc:"ntfy base URL, e.g. https://ntfy.sh"`
	Topic     string    `toml:"topic" doc:"default topic"`
	TokenFile string    `toml:"token_file" doc:"file holding the ntfy access token (never write the token inline)"`
	On        []Outcome `toml:"on" doc:"outcomes that notify (default: all)"`
	Click     Template  `toml:"click" doc:"link opened when the notification is tapped"`
	// RetryBudget bounds one notification's delivery, retries included.
	RetryBudget Duration `toml:"retry_budget" doc:"how long one notification may keep retrying while ntfy is unreachable or rate-limits (default 45s, at most 90s)"`
	// DigestOver: a push with more units notifying one topic sends a digest.
	DigestOver *int `toml:"digest_over" doc:"a push with more than this many units notifying the same topic sends one digest for them instead (default 10; 0: never)"`
	// LogLines: the tail of the job's output in failure notifications.
	LogLines *int `toml:"log_lines" doc:"put the last N lines of the job's output in a failure notification (default 0: off; output can hold what should not leave the server)"`

	Defined keySet `toml:"-"`
}

// MaxRetryBudget is the largest [notify] retry_budget: the notification is
// sent by the unit's ExecStopPost=, which systemd stops after 2 minutes
// (notify.MaxRetryBudget is the same).
const MaxRetryBudget = 90 * time.Second

// DefaultDigestOver is [notify] digest_over when unset: ntfy's default rate
// limit allows a burst of 60 requests, and a push's units share it with the
// other pushes of the moment.
const DefaultDigestOver = 10

// Job is one [jobs.NAME] table.
type Job struct {
	Type plan.JobType `toml:"type" required:"*" doc:"gitmal, forward-build, deploy, command or sequence"`
	Settings

	Theme  Theme      `toml:"theme" types:"gitmal" doc:"gitmal theme (a chroma style name); default github-dark"`
	Output Template   `toml:"output" types:"gitmal" required:"gitmal" doc:"directory the site is generated into"`
	Gitmal string     `toml:"gitmal" types:"gitmal" doc:"path of the gitmal binary (default: from PATH)"`
	Args   []Template `toml:"args" types:"gitmal,deploy" doc:"extra arguments"`

	Host       string     `toml:"host" required:"forward-build" doc:"a [hosts.NAME] to run the job on (its unit starts on that host's user manager); for forward-build also a plain ssh destination, e.g. builder@buildhost"`
	Path       Template   `toml:"path" types:"forward-build" required:"forward-build" doc:"checkout directory on the build host"`
	SSHOptions []string   `toml:"ssh_options" types:"forward-build" doc:"extra ssh arguments, e.g. [\"-p\", \"2222\"]"`
	Command    []Template `toml:"command" types:"forward-build,command" required:"forward-build,command" doc:"argv to run"`

	Script Template `toml:"script" types:"deploy" required:"deploy" doc:"deploy script to run with args"`

	Steps []string `toml:"steps" types:"sequence" required:"sequence" doc:"names of jobs to run in order"`

	Name    string `toml:"-"`
	Defined keySet `toml:"-"`
}

// Host is one [hosts.NAME] table: a machine that runs jobs in transient
// units of its own user manager, reached over ssh.
type Host struct {
	SSH         string   `toml:"ssh" required:"*" doc:"ssh destination, e.g. builder@buildhost (ports and the like go in ssh_options or ~/.ssh/config)"`
	SSHOptions  []string `toml:"ssh_options" doc:"extra ssh arguments, e.g. [\"-p\", \"2222\", \"-o\", \"ControlMaster=auto\"]"`
	RuntimeDir  string   `toml:"runtime_dir" doc:"the remote user's XDG_RUNTIME_DIR (default: /run/user/UID of the ssh user, found with id -u)"`
	Hookrun     string   `toml:"hookrun" doc:"absolute path of the same hookrun binary on the host (default: hookrun from the remote PATH)"`
	LostContact Duration `toml:"lost_contact" doc:"how long the git server keeps trying to reach the host about a running job before its outcome is \"lost contact with HOST\" (default 5m)"`

	Name    string `toml:"-"`
	Defined keySet `toml:"-"`
}

// Rule is one [[rules]] entry.
type Rule struct {
	Name     string   `toml:"name" doc:"optional label shown by plan"`
	Branches []string `toml:"branches" doc:"globs on branch names; ! excludes"`
	Tags     []string `toml:"tags" doc:"globs on tag names; ! excludes"`
	Paths    []string `toml:"paths" doc:"globs on the paths of the files the push changed in the ref; the rule matches only when one matches; ! excludes"`
	Events   []Event  `toml:"events" doc:"create, update, force, delete (default: create, update, force)"`
	Jobs     []string `toml:"jobs" required:"*" doc:"jobs to start"`
	Signed   bool     `toml:"signed" doc:"match only pushes with a push certificate git verified"`
	Signers  []string `toml:"signers" doc:"with signed: allowed GIT_PUSH_CERT_SIGNER or GIT_PUSH_CERT_KEY values"`

	Index    int            `toml:"-"` // 1-based, in the file it came from
	File     string         `toml:"-"`
	Selector match.Selector `toml:"-"`
	Defined  keySet         `toml:"-"`
}

type keySet map[string]bool
