package unit

import "io"

// Tee opens the bounded log of u's unit (OpenLog) and returns writers that
// copy to it as well as to stdout and stderr: under systemd a unit's output
// goes to the journal, and the log file keeps it readable where no journal
// is (hookrun logs). A failing stdout or stderr (a journal stream whose
// manager was killed) is ignored, so the log still gets everything. The
// caller closes the log.
func Tee(repoPath, name string, max uint64, stdout, stderr io.Writer) (lf *Log, out, errw io.Writer, err error) {
	lf, err = OpenLog(repoPath, name, max)
	if err != nil {
		return nil, nil, nil, err
	}
	return lf, io.MultiWriter(lenient{stdout}, lf), io.MultiWriter(lenient{stderr}, lf), nil
}

// lenient is a writer whose failures are ignored, so that a MultiWriter
// goes on to its other writers.
type lenient struct{ w io.Writer }

func (l lenient) Write(p []byte) (int, error) {
	_, _ = l.w.Write(p)
	return len(p), nil
}
