package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"loam"
)

// errShutdown cancels the handlers still running when Stop's context ends;
// errLost cancels a handler whose job its worker no longer holds
// (cancelled, or rescued after the lease expired).
var (
	errShutdown = errors.New("the worker is shutting down")
	errLost     = errors.New("the job was cancelled or its lease was lost")
)

// maxErrorLen caps a recorded error, in bytes.
const maxErrorLen = 4000

// worker claims and runs jobs for a Client. Its parts: one producer
// (claims), one goroutine per running handler, one completer (records
// outcomes in groups, so the single SQLite writer takes many at once), one
// heartbeat (renews leases), one maintainer (rescues, prunes) and, on
// PostgreSQL, one listener.
type worker struct {
	c     *Client
	store loam.JobStore
	id    string

	loops     sync.WaitGroup // every loop but the producer
	producing sync.WaitGroup
	handlers  sync.WaitGroup

	stopProducer context.CancelFunc
	stopLoops    context.CancelFunc
	// handlerBase is every handler context's parent; Stop cancels it with
	// errShutdown when its own context ends first.
	handlerBase  context.Context
	stopHandlers context.CancelCauseFunc
	// completerDone tells the completer to record the last outcomes and
	// return; abortFlush makes it give up retrying them.
	completerDone chan struct{}
	completing    sync.WaitGroup
	flushCtx      context.Context
	abortFlush    context.CancelFunc
	flushErr      error         // the completer's last failure, read after it returned
	wake          chan struct{} // something may be claimable
	slotFreed     chan struct{} // a full queue has room again
	outcomeSignal chan struct{}
	listening     atomic.Bool

	mu       sync.Mutex
	inflight map[int64]*running // claimed and not yet recorded
	busy     map[string]int     // running handlers per queue
	pending  []loam.JobOutcome  // outcomes waiting for the completer
	closed   bool               // Stop recorded the last outcomes
}

// running is a claimed job.
type running struct {
	job    *loam.Job
	cancel context.CancelCauseFunc
	// renewUntil ends heartbeats for a handler that overran its timeout and
	// ignores its context, so that its lease expires and the job runs
	// again; zero for none.
	renewUntil time.Time
	returned   bool
}

// Start starts what the configured roles run. The worker (RoleWorker)
// claims jobs of the registered kinds on the configured queues, runs them,
// renews their leases, rescues the jobs of dead workers and prunes old
// completed jobs; the scheduler (RoleScheduler) enqueues the ticks of the
// schedules. ctx only bounds Start itself. Starting twice is an error.
func (c *Client) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	kinds := c.kindNames()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.worker != nil {
		return errors.New("jobs: the worker is already started")
	}
	w := &worker{c: c, store: c.app.Store(), id: c.cfg.Worker,
		wake: make(chan struct{}, 1), slotFreed: make(chan struct{}, 1), outcomeSignal: make(chan struct{}, 1),
		completerDone: make(chan struct{}), inflight: map[int64]*running{}, busy: map[string]int{}}
	base := context.WithoutCancel(ctx)
	var pctx, lctx context.Context
	pctx, w.stopProducer = context.WithCancel(base)
	lctx, w.stopLoops = context.WithCancel(base)
	w.handlerBase, w.stopHandlers = context.WithCancelCause(base)
	w.flushCtx, w.abortFlush = context.WithCancel(base)
	c.worker = w
	if c.cfg.Roles&RoleWorker != 0 {
		w.producing.Go(func() { w.produce(pctx) })
		w.completing.Go(w.complete)
		w.loops.Go(func() { w.heartbeat(lctx) })
		w.loops.Go(func() { w.maintain(lctx) })
		if !c.cfg.PollOnly {
			if l, ok := w.store.(loam.JobListener); ok {
				w.loops.Go(func() { w.listen(lctx, l) })
			}
		}
		c.log.Info("jobs worker started", "worker", w.id, "queues", slices.Sorted(maps.Keys(c.cfg.Queues)),
			"kinds", kinds)
	}
	if c.cfg.Roles&RoleScheduler != 0 {
		w.loops.Go(func() { w.scheduleLoop(lctx) })
		c.log.Info("jobs scheduler started", "worker", w.id)
	}
	return nil
}

// Stop stops claiming, waits for the running handlers until ctx ends, then
// cancels the handlers still running and releases their jobs (available
// again, the attempt not counted), records every outcome and stops. A
// handler that ignores its cancelled context is left behind: its job is
// released, and whatever it returns later is dropped.
func (c *Client) Stop(ctx context.Context) error {
	c.mu.Lock()
	w := c.worker
	c.worker = nil
	c.mu.Unlock()
	if w == nil {
		return nil
	}
	w.stopProducer()
	w.producing.Wait()
	done := make(chan struct{})
	go func() {
		w.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		w.stopHandlers(errShutdown)
		grace := time.NewTimer(time.Second)
		select {
		case <-done:
		case <-grace.C:
		}
		grace.Stop()
	}
	// Release what still runs, and record the last outcomes.
	now := c.now()
	w.mu.Lock()
	for _, r := range w.inflight {
		if !r.returned {
			r.returned = true
			w.pending = append(w.pending, loam.JobOutcome{ID: r.job.ID, Attempt: r.job.Attempt, Worker: w.id,
				State: loam.JobAvailable, At: now, RunAt: now, UndoAttempt: true})
		}
	}
	w.closed = true
	w.mu.Unlock()
	// The completer records the last outcomes (leases are still renewed
	// meanwhile), trying for up to 5s more when the database fails.
	close(w.completerDone)
	finished := make(chan struct{})
	go func() {
		w.completing.Wait()
		close(finished)
	}()
	giveUp := time.NewTimer(5 * time.Second)
	select {
	case <-finished:
	case <-giveUp.C:
		w.abortFlush()
		<-finished
	}
	giveUp.Stop()
	w.abortFlush()
	w.stopLoops()
	w.loops.Wait()
	w.stopHandlers(errShutdown)
	c.log.Info("jobs stopped", "worker", w.id)
	return w.flushErr
}

// wakeUp tells the producer to claim now.
func (w *worker) wakeUp() { signal(w.wake) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// pollInterval is the configured one, or the default for how the worker
// learns of new jobs.
func (w *worker) pollInterval() time.Duration {
	if p := w.c.cfg.PollInterval; p > 0 {
		return p
	}
	if w.listening.Load() {
		return time.Second
	}
	return 200 * time.Millisecond
}

// produce claims jobs whenever a queue has room and something may be
// claimable: at a wake-up, a freed slot, the poll interval, or when the
// next scheduled job comes due.
func (w *worker) produce(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	var lastClaim time.Time
	failures := 0
	for {
		if wait := w.c.cfg.FetchCooldown - time.Since(lastClaim); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		lastClaim = time.Now()
		full, claimed, err := w.claim(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := w.pollInterval()
		switch {
		case err != nil:
			failures++
			wait = min(wait*time.Duration(failures), 30*time.Second)
			w.c.log.Warn("claiming jobs failed", "err", err, "retryIn", wait)
		case full:
			failures = 0
			continue // more may be waiting
		case claimed:
			// Due jobs were made available by the claim; sleep until the
			// next one comes due, if before the poll.
			failures = 0
			if at, ok, err := w.store.NextJobDue(ctx); err == nil && ok {
				wait = min(wait, max(at.Sub(w.c.now()), w.c.cfg.FetchCooldown))
			}
		default:
			failures = 0
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-w.slotFreed:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// claim claims jobs for the queues with room and starts them; full reports
// that some queue got all it asked for, claimed that a claim ran.
func (w *worker) claim(ctx context.Context) (full, claimed bool, err error) {
	kinds := w.c.kindNames()
	if len(kinds) == 0 {
		return false, false, nil
	}
	var qs []loam.QueueClaim
	w.mu.Lock()
	for name, q := range w.c.cfg.Queues {
		if free := q.Workers - w.busy[name]; free > 0 {
			qs = append(qs, loam.QueueClaim{Queue: name, Max: free, Limit: q.Limit})
		}
	}
	w.mu.Unlock()
	if len(qs) == 0 {
		return false, false, nil
	}
	now := w.c.now()
	jobs, err := w.store.ClaimJobs(ctx, loam.JobClaim{Worker: w.id, Now: now, LeaseUntil: now.Add(w.c.cfg.Lease),
		Kinds: kinds, Queues: qs})
	if err != nil {
		return false, false, err
	}
	got := map[string]int{}
	for _, j := range jobs {
		got[j.Queue]++
		w.start(j, now)
	}
	for _, q := range qs {
		if got[q.Queue] == q.Max {
			full = true
		}
	}
	return full, true, nil
}

// timeout is the bound of one attempt of j; 0 for none.
func (w *worker) timeout(j *loam.Job) time.Duration {
	switch {
	case j.Timeout > 0:
		return j.Timeout
	case j.Timeout < 0:
		return 0
	}
	return max(w.c.cfg.Timeout, 0)
}

// start runs a claimed job's handler in a goroutine of its own.
func (w *worker) start(j *loam.Job, now time.Time) {
	ctx, cancel := context.WithCancelCause(w.handlerBase)
	r := &running{job: j, cancel: cancel}
	timeout := w.timeout(j)
	if timeout > 0 {
		r.renewUntil = now.Add(timeout + w.c.cfg.Lease)
	}
	w.mu.Lock()
	w.inflight[j.ID] = r
	w.busy[j.Queue]++
	w.mu.Unlock()
	w.handlers.Go(func() {
		o, ok := w.execute(ctx, j, timeout)
		cancel(nil)
		w.mu.Lock()
		q := w.c.cfg.Queues[j.Queue]
		if w.busy[j.Queue] == q.Workers {
			signal(w.slotFreed)
		}
		w.busy[j.Queue]--
		if w.closed || r.returned {
			// Stop released the job already: drop the late outcome.
			w.mu.Unlock()
			return
		}
		r.returned = true
		if ok {
			w.pending = append(w.pending, o)
		} else {
			delete(w.inflight, j.ID)
		}
		w.mu.Unlock()
		w.signalOutcome()
	})
}

// execute runs j's handler and returns the outcome of the attempt; ok is
// false when there is none to record (the job was lost meanwhile).
func (w *worker) execute(ctx context.Context, j *loam.Job, timeout time.Duration) (o loam.JobOutcome, ok bool) {
	hctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	began := time.Now()
	result, err := w.run(hctx, j)
	now := w.c.now()
	o = loam.JobOutcome{ID: j.ID, Attempt: j.Attempt, Worker: w.id, At: now, RunAt: now}
	var (
		snooze snoozed
		cancel cancelled
		bad    badArgs
	)
	switch {
	case err == nil:
		o.State, o.Result = loam.JobCompleted, result
		return o, true
	case context.Cause(ctx) == errLost:
		w.c.log.Info("job lost while running", "job", j.ID, "kind", j.Kind, "err", err)
		return o, false
	case context.Cause(ctx) == errShutdown:
		o.State, o.UndoAttempt = loam.JobAvailable, true
		return o, true
	case errors.As(err, &snooze):
		o.State, o.RunAt, o.UndoAttempt = loam.JobScheduled, now.Add(snooze.d), true
		return o, true
	case errors.Is(hctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("timed out after %v: %w", timeout, err)
	}
	msg := err.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen] + "…"
	}
	o.Error = &loam.JobError{Attempt: j.Attempt, At: now, Error: msg}
	switch {
	case errors.As(err, &cancel):
		o.State = loam.JobCancelled
	case errors.As(err, &bad), j.Attempt >= j.MaxAttempts:
		o.State = loam.JobDead
	default:
		o.State, o.RunAt = loam.JobRetryable, now.Add(w.c.cfg.Backoff(j.Attempt))
	}
	w.c.log.Warn("job attempt failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempt, "state", o.State,
		"took", time.Since(began), "err", msg)
	return o, true
}

// run calls the kind's handler; a panic becomes the attempt's error.
func (w *worker) run(ctx context.Context, j *loam.Job) (result json.RawMessage, err error) {
	k := w.c.kind(j.Kind)
	if k == nil {
		return nil, fmt.Errorf("no handler for kind %q", j.Kind)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return k.run(ctx, j)
}

func (w *worker) signalOutcome() { signal(w.outcomeSignal) }

// takePending returns and clears the outcomes waiting to be recorded.
func (w *worker) takePending() []loam.JobOutcome {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending
	w.pending = nil
	return p
}

// complete records outcomes as they come, each group in one transaction:
// while one group is written, the next gathers. When Stop closes
// completerDone, it records what is left and returns.
func (w *worker) complete() {
	for {
		select {
		case <-w.completerDone:
			w.flushErr = w.flush(w.flushCtx, w.takePending())
			return
		case <-w.outcomeSignal:
		}
		if batch := w.takePending(); len(batch) > 0 {
			_ = w.flush(w.flushCtx, batch)
		}
	}
}

// flush records outcomes, trying again while the database fails, until
// ctx ends; then the jobs' leases expire and they run again.
func (w *worker) flush(ctx context.Context, batch []loam.JobOutcome) error {
	if len(batch) == 0 {
		return nil
	}
	var err error
	for try := 0; ; try++ {
		var applied []bool
		applied, err = w.store.FinishJobs(ctx, batch)
		if err == nil {
			for i, ok := range applied {
				if !ok {
					w.c.log.Info("job outcome not recorded: the job was cancelled or rescued meanwhile",
						"job", batch[i].ID, "attempt", batch[i].Attempt)
				}
			}
			break
		}
		wait := min(100*time.Millisecond<<min(try, 8), w.c.cfg.Lease/3)
		w.c.log.Warn("recording job outcomes failed", "jobs", len(batch), "err", err, "retryIn", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			w.c.log.Error("job outcomes dropped; their jobs run again when their leases expire", "jobs", len(batch))
			return fmt.Errorf("record job outcomes: %w", err)
		case <-t.C:
		}
	}
	w.mu.Lock()
	for _, o := range batch {
		if r := w.inflight[o.ID]; r != nil && r.job.Attempt == o.Attempt {
			delete(w.inflight, o.ID)
		}
	}
	w.mu.Unlock()
	return nil
}

// heartbeat renews the leases of the jobs this worker holds, every Lease/3,
// and cancels the handlers of the jobs it no longer holds.
func (w *worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(w.c.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := w.c.now()
		var ids []int64
		w.mu.Lock()
		for id, r := range w.inflight {
			if r.renewUntil.IsZero() || now.Before(r.renewUntil) {
				ids = append(ids, id)
			}
		}
		w.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		held, err := w.store.HeartbeatJobs(ctx, w.id, ids, now.Add(w.c.cfg.Lease))
		if err != nil {
			if ctx.Err() == nil {
				w.c.log.Warn("renewing job leases failed", "jobs", len(ids), "err", err)
			}
			continue
		}
		if len(held) == len(ids) {
			continue
		}
		keep := make(map[int64]bool, len(held))
		for _, id := range held {
			keep[id] = true
		}
		w.mu.Lock()
		for _, id := range ids {
			if r := w.inflight[id]; r != nil && !keep[id] {
				r.cancel(errLost)
				if r.returned {
					// Its outcome is pending and will not apply; forget it.
					delete(w.inflight, id)
				}
			}
		}
		w.mu.Unlock()
	}
}

// pruneBatch is how many completed jobs one prune statement deletes.
const pruneBatch = 1000

// maintain rescues jobs whose lease expired and prunes old completed jobs.
// Every worker does it; both are idempotent statements.
func (w *worker) maintain(ctx context.Context) {
	t := time.NewTicker(w.c.cfg.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := w.c.now()
		if n, err := w.store.RescueJobs(ctx, now); err != nil {
			if ctx.Err() == nil {
				w.c.log.Warn("rescuing jobs failed", "err", err)
			}
		} else if n > 0 {
			w.c.log.Warn("jobs rescued after their lease expired", "jobs", n)
			w.wakeUp()
		}
		for range 20 {
			n, err := w.store.PruneJobs(ctx, now.Add(-w.c.cfg.RetainCompleted), pruneBatch)
			if err != nil {
				if ctx.Err() == nil {
					w.c.log.Warn("pruning jobs failed", "err", err)
				}
				break
			}
			if n < pruneBatch {
				break
			}
		}
	}
}

// listen wakes the producer on notifications of new jobs, reconnecting
// with a growing pause when the connection fails.
func (w *worker) listen(ctx context.Context, l loam.JobListener) {
	queues := w.c.cfg.Queues
	pause := time.Second
	for {
		err := l.ListenJobs(ctx, func(queue string) {
			w.listening.Store(true)
			if _, ok := queues[queue]; ok || queue == "" {
				w.wakeUp()
			}
		})
		w.listening.Store(false)
		if ctx.Err() != nil || errors.Is(err, errors.ErrUnsupported) {
			return
		}
		w.c.log.Warn("listening for jobs failed; polling meanwhile", "err", err, "retryIn", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(pause*2, 30*time.Second)
	}
}
