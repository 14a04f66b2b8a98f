package plan

import "path/filepath"

// hookrun keeps its per-repository state under $GIT_DIR/hookrun:
//
//	units/<unit>.json   the saved plan a unit runs (written by the hook)
//	logs/<unit>.log     output of every unit (hookrun exec copies it here)
//	history.jsonl       recent outcomes, for `hookrun status`
const StateDirName = "hookrun"

// StateDir is the repository's hookrun state directory.
func StateDir(repoPath string) string { return filepath.Join(repoPath, StateDirName) }

// PlanPath is where the plan of unit is saved.
func PlanPath(repoPath, unit string) string {
	return filepath.Join(StateDir(repoPath), "units", unit+".json")
}

// LogPath is where the exec runner writes the output of unit.
func LogPath(repoPath, unit string) string {
	return filepath.Join(StateDir(repoPath), "logs", unit+".log")
}

// HistoryPath is the repository's bounded record of finished units.
func HistoryPath(repoPath string) string {
	return filepath.Join(StateDir(repoPath), "history.jsonl")
}
