package unit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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
// files as before. A spare is claimed by renaming it (of two hooks after
// one, the second rename fails and it takes another), checked (an empty
// 0600 regular file of ours), written, and renamed into place, never over
// a file there (takeSpare).

// spareStock is how many spare files Restock keeps: a push of a few jobs
// takes two a unit; a bigger one creates the rest.
const spareStock = 16

// Restock makes spare files until spare/ holds spareStock, and removes
// the spares claimed more than orphanAge ago: left by a hook killed
// between claiming one and placing it. (One claimed a moment ago by a hook
// that has not written it yet looks as old as its spare; removing it only
// sends that hook to create its file.) Units ending together each make
// what they counted missing; past twice spareStock the surplus goes.
// Failures are ignored: spares only save time.
func (s *Store) Restock() {
	dir := layout.SpareDir(s.RepoPath)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		err = os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return
	}
	var spares []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), claimPrefix) {
			spares = append(spares, e.Name())
		} else if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > orphanAge {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	if len(spares) > 2*spareStock {
		for _, n := range spares[spareStock:] {
			os.Remove(filepath.Join(dir, n))
		}
	}
	for n := len(spares); n < spareStock; n++ {
		f, err := os.CreateTemp(dir, "s")
		if err != nil {
			return
		}
		f.Close()
	}
}

// takeSpare claims a spare file for the file name (a plan's or a state's
// base name): renamed to spare/.c-NAME, and open for writing; nil when
// there is none to take. The rename claims it: of two hooks after one
// spare, one rename fails and that hook tries the next. A claimed file
// that is not an empty regular file of ours with mode 0600 (a spare made
// by someone else) is removed, and the next tried. The caller writes it
// and renames it into place (savePlan, saveState): a file appears in
// units/ or state/ whole, and prune, which judges a plan without a state
// by its age, never sees one half written with a spare's old time.
func (s *Store) takeSpare(name string) (*os.File, string) {
	dir := layout.SpareDir(s.RepoPath)
	d, err := os.Open(dir)
	if err != nil {
		return nil, ""
	}
	names, _ := d.Readdirnames(2 * spareStock)
	d.Close()
	claimed := filepath.Join(dir, claimPrefix+name)
	for _, n := range names {
		if strings.HasPrefix(n, ".") {
			continue // claimed by a hook
		}
		if renameNoReplace(filepath.Join(dir, n), claimed) != nil {
			continue // another hook took it
		}
		f, err := os.OpenFile(claimed, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if err != nil {
			os.Remove(claimed)
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
			st.Size != 0 || int(st.Uid) != os.Geteuid() || st.Mode&0o777 != 0o600 {
			f.Close()
			os.Remove(claimed)
			continue
		}
		return f, claimed
	}
	return nil, ""
}

// claimPrefix starts the name of a spare a hook has claimed.
const claimPrefix = ".c-"

func renameNoReplace(from, to string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
