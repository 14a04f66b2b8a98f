package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrUnsafeFile marks a config file others could have written.
var ErrUnsafeFile = errors.New("unsafe config file")

// CheckOwnership reports a config file that is writable by group or others,
// or owned by a user other than the current one or root: whoever can write
// it decides what runs. A missing file is fine.
func CheckOwnership(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", ErrUnsafeFile, path, fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := os.Getuid(); st.Uid != 0 && int(st.Uid) != uid {
			return fmt.Errorf("%w: %s is owned by uid %d, not by this user (uid %d) or root", ErrUnsafeFile, path, st.Uid, uid)
		}
	}
	return nil
}
