package match

import "slices"

// Unknown is how an unknown pusher is written: in HOOKRUN_PUSHER, in plan
// and in messages. It never matches a pushers or except_pushers entry.
const Unknown = "(unknown)"

// Pusher is who pushed, as the server that ran receive-pack says.
type Pusher struct {
	Name   string // "" when the server does not say
	Email  string // Gitea and Forgejo only
	Source string // the variable it came from, e.g. "GL_USERNAME"
}

// pusherVars are read in this order; the first one set names the pusher.
var pusherVars = []string{"GITEA_PUSHER_NAME", "GL_USERNAME", "GL_USER", "REMOTE_USER", "HOOKRUN_PUSHER"}

// PusherFromEnv reads who pushed from the hook's environment: Gitea and
// Forgejo set GITEA_PUSHER_NAME (and GITEA_PUSHER_EMAIL), GitLab
// GL_USERNAME, gitolite GL_USER, a web server in front of smart HTTP
// REMOTE_USER, and an ssh authorized_keys line environment="HOOKRUN_PUSHER=..."
// (with PermitUserEnvironment). Nothing set: an unknown pusher. A value
// of Unknown is unknown too.
func PusherFromEnv(getenv func(string) string) Pusher {
	for _, k := range pusherVars {
		if v := getenv(k); v != "" && v != Unknown {
			p := Pusher{Name: v, Source: k}
			if k == "GITEA_PUSHER_NAME" {
				p.Email = getenv("GITEA_PUSHER_EMAIL")
			}
			return p
		}
	}
	return Pusher{}
}

// Known reports whether the server said who pushed.
func (p Pusher) Known() bool { return p.Name != "" }

// String is the pusher's name, or Unknown.
func (p Pusher) String() string {
	if !p.Known() {
		return Unknown
	}
	return p.Name
}

// In reports whether list names the pusher (its name or its email,
// exactly). An unknown pusher is in no list.
func (p Pusher) In(list []string) bool {
	if !p.Known() {
		return false
	}
	return slices.Contains(list, p.Name) || p.Email != "" && slices.Contains(list, p.Email)
}
