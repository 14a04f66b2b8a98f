// Package layout is hookrun's on-disk layout: every file and directory
// hookrun keeps, where it is, and which package writes it. It builds every
// path under a repository's state directory, $GIT_DIR/hookrun (and the few
// outside it); no other package joins a name onto that directory. It only
// names paths: it reads and writes nothing.
//
// Under $GIT_DIR/hookrun (Dir), one writer for each kind of file:
//
//	entry                     what                                            written by
//	units/UNIT.json           a unit's saved plan; written once, never        unit (Store.Save; Store.Receive for a
//	                          renamed: its bytes 0 and 1 are the unit's       plan shipped to a build host), read by
//	                          owner and state locks                           plan.Load
//	state/UNIT.json           a unit's state (queued .. ended, delivery):     unit (Store.write, Store.appendState,
//	                          whole JSON records, one appended per change     under the state lock)
//	state/.pruned             stamp of the last full prune pass               unit (Store.Prune)
//	state/.prune-checked      stamp of the last count of state/ between       unit (Store.Prune)
//	                          full passes
//	state/.reconciled         stamp of the last reconcile pass                unit (Store.ReconcileDue)
//	logs/UNIT.log             a unit's output and its outcome line; only      unit (Log, hookrun exec); the runner's
//	                          ever appended to, by several appenders          stdout (exec runner, or the manager's
//	                                                                          StandardOutput=append:); the notifier
//	history.jsonl             bounded record of finished units, for status;   history (Append, Replace, SetNotify*),
//	                          appended to, rewritten past 256 KiB
//	history.jsonl.lock        flock serialising its writers                   called by unit and the push's hook
//	seq                       the repository's next queue number (locked)     unit (Store.NextSeq)
//	launch.lock               flock ordering concurrent pushes' launches      unit (Launcher)
//	reconciled.json           what the last reconcile pass found              unit (SaveReconciled)
//	outbox/LETTER.json        a notification handed to its own sender         notify (Outbox), opened by unit.Outbox
//	                          (+ .sending while it is sent)
//	digests/ID/               one digest group: expected, claimed,            digest (Assign, Record, Remove)
//	                          UNIT.outcome
//	hosts/HOST.json           where a build host keeps this repository's      remote (storeSite)
//	                          mirror (the site cache)
//	locks/                    a forwarded build directory's lock, when the    job (lockBuildDir)
//	                          user's runtime directory cannot be written
//	spare/*                   empty files made ahead for the push hook to     unit (Store.Restock; taken by Store.Save)
//	                          rename into units/ and state/ instead of
//	                          creating files: 16 at most
//	hookrun-list-*            a job's long lists (refs, changed files),       job (writeList), removed when the job
//	                          when neither its unit's runtime directory nor   ends
//	                          the temporary directory can be used
//
// A .FILE.tmp-RANDOM beside any of these is its writer's temporary file
// (internal/atomicfile), renamed over FILE once written whole; prune
// removes old leftovers (and the FILE.tmp of earlier versions).
//
// On a build host, the mirror of a repository is HOME/MirrorsDir/NAME.git
// (remote), and its state directory has the same layout: units/ and state/
// arrive from the git server through the ssh gate (unit Store.Receive,
// under the state lock), logs/ and history.jsonl are written by the host's
// own hookrun exec.
//
// Outside the repository:
//
//	$XDG_RUNTIME_DIR/hookrun/locks/           forwarded build directories' locks (job)
//	$XDG_RUNTIME_DIR/hookrun-unrecorded-UID/  outcomes that could not be written (unit)
//	$HOOKRUN_STATE_DIR/repositories           the user's repositories, for reconcile and status
//	                                          (repoindex; else $XDG_STATE_HOME/hookrun/repositories,
//	                                          else ~/.local/state/hookrun/repositories)
package layout

import (
	"os"
	"path/filepath"
)

// DirName is the name of the state directory inside $GIT_DIR.
const DirName = "hookrun"

// Dir is the state directory of the repository at repoPath ($GIT_DIR).
func Dir(repoPath string) string { return filepath.Join(repoPath, DirName) }

// PlansDir holds the saved plans.
func PlansDir(repoPath string) string { return filepath.Join(Dir(repoPath), "units") }

// Plan is the saved plan of unit.
func Plan(repoPath, unit string) string { return filepath.Join(PlansDir(repoPath), unit+".json") }

// SpareDir holds empty files made ahead for the hook (unit.Store.Restock).
func SpareDir(repoPath string) string { return filepath.Join(Dir(repoPath), "spare") }

// StatesDir holds the units' state files.
func StatesDir(repoPath string) string { return filepath.Join(Dir(repoPath), "state") }

// State is the state file of unit.
func State(repoPath, unit string) string {
	return filepath.Join(StatesDir(repoPath), unit+".json")
}

// PrunedStamp is the stamp of the last full prune pass.
func PrunedStamp(repoPath string) string { return filepath.Join(StatesDir(repoPath), ".pruned") }

// PruneChecked is the stamp of the last count of the state directory
// between full prune passes.
func PruneChecked(repoPath string) string {
	return filepath.Join(StatesDir(repoPath), ".prune-checked")
}

// ReconciledStamp is the stamp of the last reconcile pass.
func ReconciledStamp(repoPath string) string {
	return filepath.Join(StatesDir(repoPath), ".reconciled")
}

// LogsDir holds the units' logs.
func LogsDir(repoPath string) string { return filepath.Join(Dir(repoPath), "logs") }

// Log is the log of unit.
func Log(repoPath, unit string) string { return filepath.Join(LogsDir(repoPath), unit+".log") }

// History is the repository's bounded record of finished units.
func History(repoPath string) string { return filepath.Join(Dir(repoPath), "history.jsonl") }

// Seq is the file holding the repository's next queue number.
func Seq(repoPath string) string { return filepath.Join(Dir(repoPath), "seq") }

// LaunchLock is the flock that orders concurrent pushes' launches.
func LaunchLock(repoPath string) string { return filepath.Join(Dir(repoPath), "launch.lock") }

// Reconciled records what the last reconcile pass found.
func Reconciled(repoPath string) string { return filepath.Join(Dir(repoPath), "reconciled.json") }

// Outbox is the directory of notifications handed to their own sender.
func Outbox(repoPath string) string { return filepath.Join(Dir(repoPath), "outbox") }

// Digests holds the digest groups, under the state directory stateDir
// (Dir of the repository).
func Digests(stateDir string) string { return filepath.Join(stateDir, "digests") }

// HostSite is the site cache of build host host: where it keeps the
// repository's mirror.
func HostSite(repoPath, host string) string {
	return filepath.Join(Dir(repoPath), "hosts", host+".json")
}

// Locks is the repository's directory of forwarded build directories'
// locks, used where the runtime directory cannot be written.
func Locks(repoPath string) string { return filepath.Join(Dir(repoPath), "locks") }

// RuntimeLocks is the user's directory of forwarded build directories'
// locks under the runtime directory runtimeDir ($XDG_RUNTIME_DIR).
func RuntimeLocks(runtimeDir string) string { return filepath.Join(runtimeDir, DirName, "locks") }

// Unrecorded is the directory under base (the runtime directory, /dev/shm
// or the temporary directory) that keeps outcomes of user uid which could
// not be written to their repository.
func Unrecorded(base, uid string) string { return filepath.Join(base, "hookrun-unrecorded-"+uid) }

// Index is the user's index of repositories: $HOOKRUN_STATE_DIR/repositories,
// else $XDG_STATE_HOME/hookrun/repositories, else
// ~/.local/state/hookrun/repositories (getenv reads the variables).
func Index(getenv func(string) string) string {
	if d := getenv("HOOKRUN_STATE_DIR"); d != "" {
		return filepath.Join(d, "repositories")
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, DirName, "repositories")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".local", "state", DirName, "repositories")
}
