package runner

import (
	"fmt"
	"os"
	"strings"
)

// LimitControllers maps hookrun's limit keys to the cgroup controller that
// must be delegated to a user manager for them to apply.
var LimitControllers = map[string]string{
	"cpu_quota":  "cpu",
	"memory_max": "memory",
	"tasks_max":  "pids",
}

// DelegatedControllers lists the cgroup v2 controllers delegated to the user
// manager of uid, read from its user@UID.service cgroup. ok is false when
// that cannot be told from here (no such manager, cgroup v1, a container).
func DelegatedControllers(uid int) (controllers []string, ok bool) {
	path := fmt.Sprintf("/sys/fs/cgroup/user.slice/user-%d.slice/user@%d.service/cgroup.controllers", uid, uid)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	return strings.Fields(string(b)), true
}
