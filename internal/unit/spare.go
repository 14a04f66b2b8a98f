package unit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hookrun/hookrun/internal/layout"
)

// Spare files: the push hook saves two files per unit (its plan and its
// state) and is what a person waits on, while creating a file can be slow:
// on an ext4 without a journal each new inode is found by scanning past
// every inode removed nearby in the last minute or more (the kernel's
// recently_deleted), 0.3-0.6 ms a file after a burst of removals against
// some 30 µs otherwise. So the end of every unit (Finish, off the push's
// path) makes empty files ahead in spare/, up to spareStock, and the hook
// writes into one and renames it into place; with none left it creates
// files as before. A spare is only ever taken whole: opened, checked
// (empty, ours, a regular file), then renamed away, so two hooks never
// share one (the second rename fails and it takes another).

// spareStock is how many spare files Restock keeps: a push of a few jobs
// takes two a unit; a bigger one creates the rest.
const spareStock = 16

// Restock makes spare files until spare/ holds spareStock. Failures are
// ignored: spares only save time.
func (s *Store) Restock() {
	dir := layout.SpareDir(s.RepoPath)
	n, err := countEntries(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Mkdir(dir, 0o700) != nil {
			return
		}
		n, err = 0, nil
	}
	for ; err == nil && n < spareStock; n++ {
		var f *os.File
		if f, err = os.CreateTemp(dir, "s"); err == nil {
			f.Close()
		}
	}
}

// takeSpare moves a spare file to path, never over a file there, and
// returns it open for writing; nil when there is no spare to take (or the
// file system cannot rename without replacing). The rename claims it: of
// two hooks after one spare, one rename fails and that hook tries the
// next. A taken file that is not an empty regular file of ours with mode
// 0600 (a spare someone else made) is removed again, and the next tried.
// A path that exists already is fs.ErrExist.
func (s *Store) takeSpare(path string) (*os.File, error) {
	dir := layout.SpareDir(s.RepoPath)
	d, err := os.Open(dir)
	if err != nil {
		return nil, nil
	}
	names, _ := d.Readdirnames(spareStock)
	d.Close()
	for _, n := range names {
		err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(dir, n), unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
		switch {
		case errors.Is(err, syscall.EEXIST):
			return nil, &os.PathError{Op: "open", Path: path, Err: fs.ErrExist}
		case errors.Is(err, syscall.ENOENT):
			if _, serr := os.Stat(filepath.Dir(path)); serr != nil {
				return nil, nil // no directory yet: the caller makes it
			}
			continue // another hook took it
		case err != nil:
			return nil, nil
		}
		f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if err != nil {
			os.Remove(path)
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
			st.Size != 0 || int(st.Uid) != os.Geteuid() || st.Mode&0o777 != 0o600 {
			f.Close()
			os.Remove(path)
			continue
		}
		return f, nil
	}
	return nil, nil
}
