package config

import (
	"reflect"

	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// modes are the enums whose type and values another package owns: plan
// the job type and the settings a unit keeps in its saved plan (runner,
// manager, concurrency), match the ref events. Config fields have their
// types, so what config decodes is what the plan saves and the rules
// match, with no conversion, and config decodes, checks and documents
// (schema, "did you mean") exactly their values. A field of such a type
// missing here would take any string: TestModesDecoded checks that every
// one is here.
var modes = map[reflect.Type][]string{
	reflect.TypeFor[match.Event]():      names(match.Events),
	reflect.TypeFor[plan.JobType]():     names(plan.JobTypes()),
	reflect.TypeFor[plan.Runner]():      names(plan.Runners()),
	reflect.TypeFor[plan.Manager]():     names(plan.Managers()),
	reflect.TypeFor[plan.Concurrency](): names(plan.Concurrencies()),
}

// Event is match.Event, the ref events rules react to and policies deny.
type Event = match.Event

// jobTypes are the names of the job types, for messages.
var jobTypes = modes[reflect.TypeFor[plan.JobType]()]

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
