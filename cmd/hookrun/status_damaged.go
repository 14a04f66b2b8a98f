package main

import "github.com/hookrun/hookrun/internal/unit"

// What status prints after its table (internal/unit says it): the records
// that cannot be read, and what the last reconcile found.
var (
	damagedRecords = unit.DamagedRecords
	reconcileNotes = unit.ReconcileNotes
)
