package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hookrun/hookrun/internal/peertest"
	"github.com/hookrun/hookrun/internal/skiptest"
)

// Script commands and conditions for the real peers (internal/peertest).
//
//	[gitmal], [ntfy]    true when the peer is found ($GITMAL, $NTFY_BIN are
//	                    its path); under HOOKRUN_REQUIRE_PEERS=1 a missing
//	                    peer fails the script instead of skipping it
//	ntfy-serve [burst=N] [replenish=DURATION]
//	                    starts a real ntfy server (deny-all, admin token) and
//	                    sets $NTFY_URL and $NTFY_TOKEN
//	ntfy-user NAME [TOPIC]
//	                    creates a user (with read-write on TOPIC when given)
//	                    and prints its token
//	ntfy-poll TOPIC[,TOPIC...] N [seconds]
//	                    waits for N messages on the topics, read back through
//	                    ntfy's poll API, fails on any other count, and prints
//	                    them one JSON object per line sorted by title
//	                    ({"title","message","priority","tags","click"}); with
//	                    ! it fails when N or more arrive within the time
//	ntfy-pause, ntfy-resume
//	                    SIGSTOP and SIGCONT the server

// realNtfy maps a running script to its real ntfy server.
var realNtfy sync.Map

// peerCondition answers [gitmal] and [ntfy].
func peerCondition(find func() (string, error)) (bool, error) {
	_, err := find()
	if err == nil {
		return true, nil
	}
	return false, skiptest.Forbidden(err.Error(), peertest.RequireEnv)
}

// peerEnv sets $GITMAL and $NTFY_BIN to the peers found (empty when none).
func peerEnv(env *testscript.Env) {
	g, _ := peertest.FindGitmal()
	n, _ := peertest.FindNtfy()
	env.Setenv("GITMAL", g)
	env.Setenv("NTFY_BIN", n)
}

func cmdNtfyServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("ntfy-serve does not take !")
	}
	var opts peertest.NtfyOptions
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "burst":
			opts.RequestBurst, err = strconv.Atoi(v)
		case "replenish":
			opts.RequestReplenish, err = time.ParseDuration(v)
		default:
			err = fmt.Errorf("unknown option %q (want burst=N or replenish=DURATION)", a)
		}
		ts.Check(err)
	}
	bin, err := peertest.FindNtfy()
	ts.Check(err)
	s, err := peertest.StartNtfy(bin, opts)
	ts.Check(err)
	ts.Defer(func() {
		if err := s.Stop(); err != nil {
			ts.Logf("ntfy: %v", err)
		}
	})
	realNtfy.Store(ts, s)
	ts.Setenv("NTFY_URL", s.URL)
	ts.Setenv("NTFY_TOKEN", s.Token)
}

func scriptNtfy(ts *testscript.TestScript, cmd string) *peertest.Ntfy {
	v, ok := realNtfy.Load(ts)
	if !ok {
		ts.Fatalf("%s needs ntfy-serve first", cmd)
	}
	return v.(*peertest.Ntfy)
}

func cmdNtfyUser(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: ntfy-user NAME [TOPIC]")
	}
	s := scriptNtfy(ts, "ntfy-user")
	tok, err := s.AddUser(args[0], false)
	ts.Check(err)
	if len(args) == 2 {
		ts.Check(s.Grant(args[0], args[1], "read-write"))
	}
	fmt.Fprintln(ts.Stdout(), tok)
}

func cmdNtfyPoll(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: ntfy-poll TOPIC N [seconds]")
	}
	s := scriptNtfy(ts, "ntfy-poll")
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	timeout := 30 * time.Second
	if len(args) == 3 {
		secs, err := strconv.Atoi(args[2])
		ts.Check(err)
		timeout = time.Duration(secs) * time.Second
	}
	ms, err := s.WaitFor(args[0], n, timeout)
	switch {
	case neg && len(ms) >= n:
		ts.Fatalf("%d messages arrived on %s within %v, want fewer than %d: %+v", len(ms), args[0], timeout, n, ms)
	case !neg && err != nil:
		ts.Fatalf("%v: %+v", err, ms)
	case !neg && len(ms) != n:
		ts.Fatalf("%d messages on %s, want exactly %d: %+v", len(ms), args[0], n, ms)
	}
	slices.SortStableFunc(ms, func(a, b peertest.Message) int { return strings.Compare(a.Title, b.Title) })
	for _, m := range ms {
		b, _ := json.Marshal(struct {
			Title    string   `json:"title"`
			Message  string   `json:"message"`
			Priority int      `json:"priority"`
			Tags     []string `json:"tags,omitempty"`
			Click    string   `json:"click,omitempty"`
		}{m.Title, m.Message, m.Priority, m.Tags, m.Click})
		fmt.Fprintf(ts.Stdout(), "%s\n", b)
	}
}

func cmdNtfyPause(ts *testscript.TestScript, neg bool, args []string) {
	ts.Check(scriptNtfy(ts, "ntfy-pause").Pause())
}

func cmdNtfyResume(ts *testscript.TestScript, neg bool, args []string) {
	ts.Check(scriptNtfy(ts, "ntfy-resume").Resume())
}
