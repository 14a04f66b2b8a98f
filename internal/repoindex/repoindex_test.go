package repoindex

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestTouchAndList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "repositories")
	if got, err := List(path); err != nil || len(got) != 0 {
		t.Fatalf("a missing index: %q, %v", got, err)
	}
	for _, r := range []string{"/srv/a.git", "/srv/b.git", "/srv/a.git", "/srv/c.git"} {
		if err := Touch(path, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := List(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/srv/c.git", "/srv/a.git", "/srv/b.git"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want most recent first, once each: %q", got, want)
	}
}

// TestBounded: the file is compacted and the list holds at most Keep
// repositories, even with concurrent writers.
func TestBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "repositories")
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1500; i++ {
				if err := Touch(path, fmt.Sprintf("/srv/git/repository-with-a-long-name-%04d.git", (i*4+w)%(Keep+100))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 2*compactAt {
		t.Errorf("index is %d bytes, want it compacted below %d", st.Size(), 2*compactAt)
	}
	got, _ := List(path)
	if len(got) != Keep {
		t.Errorf("List holds %d repositories, want %d", len(got), Keep)
	}
}

func TestPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HOOKRUN_STATE_DIR": "/x", "XDG_STATE_HOME": "/y", "HOME": "/h"}, "/x/repositories"},
		{map[string]string{"XDG_STATE_HOME": "/y", "HOME": "/h"}, "/y/hookrun/repositories"},
		{map[string]string{"HOME": "/home/git"}, "/home/git/.local/state/hookrun/repositories"},
	} {
		if got := Path(env(tt.env)); got != tt.want {
			t.Errorf("Path(%v) = %s, want %s", tt.env, got, tt.want)
		}
	}
}
