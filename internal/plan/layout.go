package plan

import "github.com/hookrun/hookrun/internal/layout"

// The paths of a repository's state are internal/layout's; these forward
// to it, for callers not moved yet. New code calls layout directly.

// StateDirName is layout.DirName.
const StateDirName = layout.DirName

// StateDir is layout.Dir.
func StateDir(repoPath string) string { return layout.Dir(repoPath) }

// PlanPath is layout.Plan.
func PlanPath(repoPath, unit string) string { return layout.Plan(repoPath, unit) }

// LogPath is layout.Log.
func LogPath(repoPath, unit string) string { return layout.Log(repoPath, unit) }

// HistoryPath is layout.History.
func HistoryPath(repoPath string) string { return layout.History(repoPath) }
