// Package atomicfile replaces files so that a reader, or hookrun after a
// crash, finds the old content or the new one whole: never a part, never
// an empty file under the final name. It is the one write-and-rename of
// hookrun, with one fsync policy:
//
//  1. write a temporary file in the destination's directory (a rename is
//     atomic only within one file system), named "." + base + ".tmp-" +
//     random, so that no reader listing a directory (*.json, *.log, ...)
//     ever takes it, a web server hides it (site), and concurrent writers
//     never share one;
//  2. fsync it: without, a crash may leave the rename on disk before the
//     data (ext4 and xfs write metadata and data separately), and the
//     final name would hold an empty or cut file;
//  3. rename it over the destination: readers see the old file or the new;
//  4. fsync the directory: the rename is a change of the directory, and
//     only this makes it durable, so a write Write reported done is not
//     undone by a crash (the old content back, or the file gone).
//
// A failed write removes its temporary file and leaves the destination as
// it was.
//
// The one exception to the fsyncs is WriteUnsynced, for files that are
// worth nothing after a power loss: the plans and states the push's hook
// writes for the units it starts (a power loss takes the manager's
// transient units with it, so nothing those files describe can run
// afterwards). It skips steps 2 and 4 and keeps 1 and 3, so a reader still
// never sees a part of a file. Everything else, and everything written once
// a unit runs (its outcome, its deliveries), is synced.
package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write replaces path with data, with permissions perm (whatever the
// umask).
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteFrom(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteUnsynced is Write without the fsyncs: only for files that are
// worth nothing after a power loss (see the package comment).
func WriteUnsynced(path string, data []byte, perm fs.FileMode) error {
	return writeFrom(path, perm, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// IsTemp reports whether the file name is a temporary file of this
// package's, which a crash may leave behind (for a pruner to remove once
// it is old).
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

// WriteFrom replaces path with what write writes, with permissions perm
// (whatever the umask). An error of write leaves path as it was.
func WriteFrom(path string, perm fs.FileMode, write func(io.Writer) error) error {
	return writeFrom(path, perm, true, write)
}

func writeFrom(path string, perm fs.FileMode, sync bool, write func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return commit(f, path, perm, sync, write)
}

// WriteUnsyncedVia is WriteUnsynced through f, an empty file the caller
// made ahead on path's file system as the temporary file (internal/unit's
// claimed spares, under spare/): f is written, closed and renamed to
// path, or removed when that fails.
func WriteUnsyncedVia(f *os.File, path string, data []byte, perm fs.FileMode) error {
	return commit(f, path, perm, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// commit writes f, the temporary file of path, renames it over path and
// (when sync) makes both durable.
func commit(f *os.File, path string, perm fs.FileMode, sync bool, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp := f.Name()
	err := write(f)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !sync {
		return nil
	}
	return syncDir(dir, path)
}

// syncDir makes the rename of path in dir durable.
func syncDir(dir, path string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: sync its directory: %w", path, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: sync its directory: %w", path, err)
	}
	return nil
}
