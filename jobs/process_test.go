package jobs_test

// Proof with real processes: job processes (internal/jobproc, built once)
// are started, killed with SIGKILL and stopped with SIGTERM around one
// database, and the database must show each job completed once and each
// tick enqueued once.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"loam"
	"loam/jobs"
)

var (
	procOnce sync.Once
	procBin  string
	procErr  error
	procDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if procDir != "" {
		os.RemoveAll(procDir)
	}
	os.Exit(code)
}

// jobproc returns the path of the job process binary, building it once.
func jobproc(t *testing.T) string {
	t.Helper()
	procOnce.Do(func() {
		if procDir, procErr = os.MkdirTemp("", "jobproc-"); procErr != nil {
			return
		}
		procBin = filepath.Join(procDir, "jobproc")
		out, err := exec.Command("go", "build", "-o", procBin, "./internal/jobproc").CombinedOutput()
		if err != nil {
			procErr = fmt.Errorf("build jobproc: %v\n%s", err, out)
		}
	})
	if procErr != nil {
		t.Fatal(procErr)
	}
	return procBin
}

// proc is a running job process.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	done   chan struct{} // closed when the process exited and stdout is read
	state  *os.ProcessState
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProc starts a job process on the database at url and waits until
// it is ready.
func startProc(t *testing.T, url string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(jobproc(t), append([]string{"-db", url}, args...)...), lines: make(chan string, 1024),
		stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	p.expect(t, "ready")
	return p
}

// expect waits for the next stdout line, which must be want.
func (p *proc) expect(t *testing.T, want string) {
	t.Helper()
	if got := p.next(t); got != want {
		t.Fatalf("job process said %q, want %q; stderr:\n%s", got, want, p.stderr)
	}
}

// next returns the next stdout line.
func (p *proc) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			t.Fatalf("the job process exited (%v); stderr:\n%s", p.state, p.stderr)
		}
		return l
	case <-time.After(60 * time.Second):
		t.Fatalf("the job process said nothing for 60s; stderr:\n%s", p.stderr)
	}
	return ""
}

// kill ends the process with SIGKILL and waits for it.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

var ranRE = regexp.MustCompile(`^ran (\d+)$`)

// stop ends the process with SIGTERM, which must stop it cleanly, and
// returns how many handlers it ran.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var ran []string
	for l := range p.lines {
		if m := ranRE.FindStringSubmatch(l); m != nil {
			ran = m
		}
	}
	<-p.done
	if code := p.state.ExitCode(); code != 0 || ran == nil {
		t.Fatalf("the job process exited %d without saying what it ran; stderr:\n%s", code, p.stderr)
	}
	n, _ := strconv.Atoi(ran[1])
	return n
}

// count counts the jobs a filter holds for.
func count(t *testing.T, c *jobs.Client, filter string) int64 {
	t.Helper()
	list, _, err := c.List(context.Background(), loam.ListQuery{Filter: filter, PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	return list.TotalItems
}

// waitFor polls cond until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProcessKilledMidJob: a worker process killed with SIGKILL in the
// middle of a job leaves it running under a lease nobody renews; once the
// lease expires another worker process completes it, once. That process
// also runs a handler that panics: the attempt fails and it lives on.
func TestProcessKilledMidJob(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		c := newClient(t, db.app(t), jobs.Config{})
		crashy := jobs.Register(c, "crashy", func(context.Context, *jobs.Job[int]) error { return nil })
		panics := jobs.Register(c, "panics", func(context.Context, *jobs.Job[int]) error { return nil })
		j := mustEnqueue(t, crashy, 1)
		flags := []string{"-lease", "600ms", "-maintenance", "100ms", "-poll", "50ms"}
		a := startProc(t, db.url, flags...)
		a.expect(t, fmt.Sprintf("started %d", j.ID))
		a.kill(t)
		if got, err := c.Get(t.Context(), j.ID); err != nil || got.State != loam.JobRunning || got.Worker == "" {
			t.Fatalf("after the kill the job is %v (%v), want running under the dead worker", got, err)
		}
		p := mustEnqueue(t, panics, 1)
		b := startProc(t, db.url, flags...)
		done := waitState(t, c, j.ID, loam.JobCompleted)
		if done.Attempt != 2 || len(done.Errors) != 1 || !strings.Contains(done.Errors[0].Error, "lease expired") || done.Worker != "" {
			t.Errorf("the job completed after the kill: attempt %d, errors %+v, worker %q; want the second attempt, "+
				"the first failed with its expired lease", done.Attempt, done.Errors, done.Worker)
		}
		panicked := waitState(t, c, p.ID, loam.JobCompleted)
		if panicked.Attempt != 2 || len(panicked.Errors) != 1 || !strings.Contains(panicked.Errors[0].Error, "panic: the handler panicked") {
			t.Errorf("the panicking job: attempt %d, errors %+v", panicked.Attempt, panicked.Errors)
		}
		if ran := b.stop(t); ran != 3 {
			t.Errorf("the second process ran %d handlers, want 3 (the killed job's second attempt, the panic and its retry)", ran)
		}
		if got, err := c.Get(t.Context(), j.ID); err != nil || got.State != loam.JobCompleted || got.Attempt != 2 {
			t.Errorf("after the stop the job is %+v (%v)", got, err)
		}
	})
}

// processJobs is how many jobs TestProcessesCompleteEachJobOnce runs:
// LOAM_TEST_PROCESS_JOBS, default 10 000.
func processJobs(t *testing.T) int {
	if s := os.Getenv("LOAM_TEST_PROCESS_JOBS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("LOAM_TEST_PROCESS_JOBS=%q: want a positive number", s)
		}
		return n
	}
	return 10000
}

// TestProcessesCompleteEachJobOnce: three worker processes on one
// PostgreSQL complete every job of a large batch, each one once: every
// job is completed at its first attempt with no error, and the processes
// ran as many handlers as there are jobs.
func TestProcessesCompleteEachJobOnce(t *testing.T) {
	t.Parallel()
	n := processJobs(t)
	db := newDatabase(t, "postgres")
	c := newClient(t, db.app(t), jobs.Config{})
	noop := jobs.Register(c, "noop", func(context.Context, *jobs.Job[int]) error { return nil })
	args := make([]int, 1000)
	for left := n; left > 0; left -= len(args) {
		if _, err := noop.EnqueueMany(t.Context(), args[:min(left, len(args))]); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	var procs []*proc
	for range 3 {
		procs = append(procs, startProc(t, db.url, "-workers", "100", "-poll", "50ms"))
	}
	waitFor(t, 2*time.Minute, "every job to complete", func() bool { return count(t, c, `state != "completed"`) == 0 })
	took := time.Since(began)
	ran := 0
	for _, p := range procs {
		ran += p.stop(t)
	}
	t.Logf("3 worker processes completed %d jobs in %v", n, took.Round(time.Millisecond))
	if ran != n {
		t.Errorf("the processes ran %d handlers for %d jobs", ran, n)
	}
	if got := count(t, c, `state = "completed" && attempt = 1 && errors:length = 0 && worker = null`); got != int64(n) {
		t.Errorf("%d of %d jobs completed at their first attempt without error", got, n)
	}
}

// tickRE reads the tick of a schedule job's unique key.
var tickRE = regexp.MustCompile(`schedule:beat@([0-9T:.Z-]+)`)

// TestSchedulerProcessesEnqueueEachTickOnce: three scheduler processes
// running one @every 1s schedule enqueue one job per tick: over the ticks
// they ran, as many jobs as ticks, no tick twice, none left out.
func TestSchedulerProcessesEnqueueEachTickOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		const ticks = 3
		c := newClient(t, db.app(t), jobs.Config{})
		var procs []*proc
		for range 3 {
			procs = append(procs, startProc(t, db.url, "-roles", "scheduler", "-schedule", "@every 1s"))
		}
		waitFor(t, 30*time.Second, fmt.Sprintf("%d ticks", ticks), func() bool { return count(t, c, `kind = "noop"`) >= ticks })
		for _, p := range procs {
			if ran := p.stop(t); ran != 0 {
				t.Errorf("a scheduler process ran %d handlers", ran)
			}
		}
		list, _, err := c.List(t.Context(), loam.ListQuery{Filter: `kind = "noop"`, PerPage: 500})
		if err != nil {
			t.Fatal(err)
		}
		var at []time.Time
		for _, j := range list.Items {
			m := tickRE.FindStringSubmatch(j.UniqueKey)
			if m == nil {
				t.Fatalf("job %d has the unique key %q", j.ID, j.UniqueKey)
			}
			tick, err := loam.ParseTime(m[1])
			if err != nil {
				t.Fatal(err)
			}
			if !j.RunAt.Equal(tick) {
				t.Errorf("the job of tick %v runs at %v", tick, j.RunAt)
			}
			at = append(at, tick)
		}
		slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
		if len(at) < ticks {
			t.Fatalf("%d jobs, want at least %d", len(at), ticks)
		}
		for i := 1; i < len(at); i++ {
			if d := at[i].Sub(at[i-1]); d != time.Second {
				t.Errorf("ticks %v and %v are %v apart: a tick twice, or one left out", at[i-1], at[i], d)
			}
		}
		t.Logf("3 scheduler processes over %d ticks (%v to %v) enqueued %d jobs", int(at[len(at)-1].Sub(at[0])/time.Second)+1,
			at[0].Format(time.TimeOnly), at[len(at)-1].Format(time.TimeOnly), len(at))
	})
}
