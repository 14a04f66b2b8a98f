package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// stressN is how many pushes (and hook runs) land at once.
const stressN = 50

// stressCount is what one stress phase observed.
type stressCount struct {
	hook, load  string
	runs        int // hook runs (pushes) made
	nonzero     int // pushes or hook runs that exited non-zero
	started     int // units the hooks said they started
	notStarted  int // units the hooks said did not start (name collisions)
	ran         int // jobs that actually ran (lines their ExecStart appended)
	uniqueNames int // distinct unit names among those
	spread      time.Duration
}

// stress runs the hookrun-vs-bash comparison (-only bash) and hookrun's
// outcome scenarios (outcomeScenarios; -only KEY,...), all from the same
// stressN clones, and reports them.
func (b *bench) stress(ctx context.Context) error {
	logf("stress: cloning %d working copies", stressN)
	clones := make([]string, stressN)
	for i := range clones {
		clones[i] = filepath.Join(b.work, fmt.Sprintf("c%02d", i))
		if err := runCmd(ctx, b.work, b.gitEnv(), "git", "clone", "-q", "--local", b.repo, clones[i]); err != nil {
			return err
		}
	}
	var counts []stressCount
	if selected("bash") {
		var err error
		if counts, err = b.stressVsBash(ctx, clones); err != nil {
			return err
		}
	}
	rows, err := b.stressOutcomes(ctx, clones)
	if err != nil {
		return err
	}
	b.header(ctx)
	if len(counts) > 0 {
		b.printf("#### Stress: %d at once, one job per ref\n\n", stressN)
		b.printf("| hook | load | hook runs | exit ≠ 0 | said started | said not started (name taken) | jobs that ran | distinct unit names | lost jobs | spread |\n")
		b.printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range counts {
			b.printf("| %s | %s | %d | %d | %d | %d | %d | %d | %d | %.2f s |\n", c.hook, c.load, c.runs, c.nonzero,
				c.started, c.notStarted, c.ran, c.uniqueNames, c.runs-c.ran, c.spread.Seconds())
		}
		b.printf("\n\"spread\" is the wall time from the first push or hook start to the last one's end.\n\n")
	}
	b.reportOutcomes(rows)
	return nil
}

// stressVsBash runs stressN concurrent real `git push`es of different
// branches, then stressN hook runs started within one second, against
// hookrun and the bash hook; each job appends its unit name to a file
// (O_APPEND), so the jobs that really ran are counted, not only the hooks'
// claims.
func (b *bench) stressVsBash(ctx context.Context, clones []string) ([]stressCount, error) {
	ranFile := filepath.Join(b.work, "ran.out")
	cmd := fmt.Sprintf("[%q, %q, %q]", "/bin/sh", "-c", `echo "$HOOKRUN_UNIT" >> `+ranFile)
	if err := b.writeConfig(hooksTOML(1, "ref", "**", cmd)); err != nil {
		return nil, err
	}
	bashPath, err := b.writeBashHook(bashConf{pattern: "*", refJobs: "a", cmd: `/bin/sh -c "echo ${unit} >> ` + ranFile + `"`})
	if err != nil {
		return nil, err
	}
	var counts []stressCount
	for _, v := range []struct{ name, target string }{{vHookrun, b.hook}, {vBash, bashPath}} {
		if err := b.installHook(v.target, true); err != nil {
			return nil, err
		}
		c, err := b.stressPushes(ctx, v.name, clones, ranFile)
		if err != nil {
			return nil, err
		}
		counts = append(counts, c)
		if c, err = b.stressHookRuns(ctx, v.name, ranFile); err != nil {
			return nil, err
		}
		counts = append(counts, c)
	}
	return counts, b.installHook(b.hook, true)
}

// stressPushes makes one commit in each clone, then pushes them all at once,
// each to its own new branch.
func (b *bench) stressPushes(ctx context.Context, hook string, clones []string, ranFile string) (stressCount, error) {
	logf("stress: %d concurrent git pushes with the %s hook", len(clones), hook)
	if err := os.WriteFile(ranFile, nil, 0o666); err != nil {
		return stressCount{}, err
	}
	for _, c := range clones {
		if err := runCmd(ctx, c, b.gitEnv(), "git", "-c", "user.name=bench", "-c", "user.email=bench@example.com",
			"commit", "-q", "--allow-empty", "-m", "stress "+hook); err != nil {
			return stressCount{}, err
		}
	}
	if err := b.waitIdle(ctx); err != nil {
		return stressCount{}, err
	}
	outs, codes, spread := b.pushAll(ctx, "origin", clones, func(i int) string { return fmt.Sprintf("%s-push-%02d", hook, i) })
	c := stressCount{hook: hook, load: fmt.Sprintf("%d concurrent `git push`", len(clones)), runs: len(clones), spread: spread}
	for i, out := range outs {
		if codes[i] != 0 {
			c.nonzero++
		}
		// git prefixes the hook's lines with "remote: ".
		s, f := countStarts(strings.ReplaceAll(out, "remote: ", ""))
		c.started += s
		c.notStarted += f
	}
	return c, b.countRan(ctx, ranFile, &c)
}

// pushAll runs `git push dest HEAD:refs/heads/<branch(i)>` in every clone
// at once (released together) and returns each push's output and exit
// status (-1: it could not run) and the wall time of them all.
func (b *bench) pushAll(ctx context.Context, dest string, clones []string, branch func(i int) string) (outs []string, codes []int, wall time.Duration) {
	outs = make([]string, len(clones))
	codes = make([]int, len(clones))
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			cmd := exec.CommandContext(ctx, "git", "push", dest, "HEAD:refs/heads/"+branch(i))
			cmd.Dir = c
			cmd.Env = b.gitEnv()
			out, err := cmd.CombinedOutput()
			outs[i] = string(out)
			codes[i] = -1
			if cmd.ProcessState != nil {
				codes[i] = cmd.ProcessState.ExitCode()
			} else if err != nil {
				outs[i] += err.Error()
			}
		}()
	}
	t0 := time.Now()
	close(gate)
	wg.Wait()
	return outs, codes, time.Since(t0)
}

// stressHookRuns starts stressN hook processes within one second (one every
// 1s/stressN), each for its own new branch, without waiting in between.
func (b *bench) stressHookRuns(ctx context.Context, hook, ranFile string) (stressCount, error) {
	logf("stress: %d %s hook runs within one second", stressN, hook)
	if err := os.WriteFile(ranFile, nil, 0o666); err != nil {
		return stressCount{}, err
	}
	if err := b.waitIdle(ctx); err != nil {
		return stressCount{}, err
	}
	runs := make([]hookRun, stressN)
	errs := make([]error, stressN)
	var wg sync.WaitGroup
	path := filepath.Join(b.repo, "hooks", "post-receive")
	tick := time.NewTicker(time.Second / stressN)
	defer tick.Stop()
	t0 := time.Now()
	for i := 0; i < stressN; i++ {
		if i > 0 {
			<-tick.C
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = b.runHook(ctx, path, nil, b.refLines([]string{fmt.Sprintf("%s-direct-%02d", hook, i)}))
		}()
	}
	wg.Wait()
	c := stressCount{hook: hook, load: fmt.Sprintf("%d hook runs started within 1 s", stressN), runs: stressN, spread: time.Since(t0)}
	for i, r := range runs {
		if errs[i] != nil {
			return c, errs[i]
		}
		if r.exit != 0 {
			c.nonzero++
		}
		c.started += r.started
		c.notStarted += r.failed
	}
	return c, b.countRan(ctx, ranFile, &c)
}

// countRan waits for the manager to be idle, then counts the unit names the
// jobs appended.
func (b *bench) countRan(ctx context.Context, ranFile string, c *stressCount) error {
	if err := b.waitIdle(ctx); err != nil {
		return err
	}
	data, err := os.ReadFile(ranFile)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" {
			c.ran++
			names[l] = true
		}
	}
	c.uniqueNames = len(names)
	return nil
}
