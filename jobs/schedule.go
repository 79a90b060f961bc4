package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"loam"
)

// MissedPolicy says what a schedule does with the ticks no scheduler
// enqueued in time (all of them were down, say).
type MissedPolicy int

const (
	// SkipMissed forgets missed ticks: the next run is the next tick.
	SkipMissed MissedPolicy = iota
	// RunMissedOnce runs one job for all the missed ticks (the first of
	// them), then goes on with the next tick.
	RunMissedOnce
)

// ScheduleOpts are the options of a schedule.
type ScheduleOpts struct {
	// Location is the time zone of cron expressions (default UTC).
	Location *time.Location
	// Missed is the policy for missed ticks (default SkipMissed).
	Missed MissedPolicy
	// Grace is how late a tick may be enqueued before it counts as missed
	// (default 1 minute).
	Grace time.Duration
	// Job holds the options of each tick's job; the schedule sets its run
	// time and unique key.
	Job Opts
}

// schedule is a schedule the scheduler runs: registered with
// Kind.Schedule, or stored in the database.
type schedule struct {
	name   string
	spec   Spec
	kind   string
	args   json.RawMessage
	opts   ScheduleOpts
	stored bool
}

// Schedule enqueues a job of the kind with args at every tick of spec (see
// ParseSpec) under the schedule's name. Each tick runs once however many
// workers run the schedule: the job of a tick is inserted, under the
// unique key "schedule:NAME@TICK", in the transaction that moves the
// schedule's handled time in the database past the tick, which only one
// can do. Every worker of the client (Start) runs its schedules. An
// invalid spec or name, or a name already scheduled, is an error.
func (k *Kind[A]) Schedule(name, spec string, args A, opts ...ScheduleOpts) error {
	var o ScheduleOpts
	for _, p := range opts {
		if p.Location != nil {
			o.Location = p.Location
		}
		if p.Missed != SkipMissed {
			o.Missed = p.Missed
		}
		if p.Grace != 0 {
			o.Grace = p.Grace
		}
		o.Job = o.Job.merge(p.Job)
	}
	if !nameRE.MatchString(name) {
		return fmt.Errorf("jobs: invalid schedule name %q", name)
	}
	if o.Grace < 0 {
		return fmt.Errorf("jobs: schedule %s: negative Grace", name)
	}
	if o.Grace == 0 {
		o.Grace = time.Minute
	}
	o.Job.RunAt, o.Job.Delay, o.Job.UniqueKey, o.Job.UniquePeriod = time.Time{}, 0, "", 0
	s, err := ParseSpec(spec, o.Location)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("jobs: schedule %s: encode args: %w", name, err)
	}
	if _, err := k.c.newJob(k.k.name, raw, k.k.defaults.merge(o.Job), k.c.now()); err != nil {
		return fmt.Errorf("jobs: schedule %s: %w", name, err)
	}
	c := k.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, taken := c.schedules[name]; taken {
		return fmt.Errorf("jobs: schedule %q registered twice", name)
	}
	c.schedules[name] = &schedule{name: name, spec: s, kind: k.k.name, args: raw, opts: o}
	signal(c.schedulesChanged)
	return nil
}

// sortedSchedules returns the registered schedules by name.
func (c *Client) sortedSchedules() []*schedule {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*schedule, 0, len(c.schedules))
	for _, s := range c.schedules {
		out = append(out, s)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].name < out[k].name })
	return out
}

// schedulesAt returns the schedules to run: the registered ones and the
// stored ones that are not paused, by name. A stored schedule named like
// a registered one does not run (it is logged): the two would share the
// ticks of one name.
func (c *Client) schedulesAt(ctx context.Context) []*schedule {
	out := c.sortedSchedules()
	stored, err := c.app.Store().ListSchedules(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("reading the stored schedules failed; running the declared ones", "err", err)
		}
		return out
	}
	c.mu.RLock()
	declared := c.schedules
	for _, st := range stored {
		if _, clash := declared[st.Name]; clash {
			c.log.Error("a stored schedule has the name of one declared in Go; only the declared one runs", "schedule", st.Name)
			continue
		}
		if st.Paused {
			continue
		}
		if s, ok := c.storedSchedule(st); ok {
			out = append(out, s)
		}
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, k int) bool { return out[i].name < out[k].name })
	return out
}

// runSchedules enqueues the due ticks of every schedule at now and returns
// the earliest next tick (zero without schedules); advanced reports that
// it enqueued something.
func (c *Client) runSchedules(ctx context.Context, now time.Time) (next time.Time, advanced bool) {
	for _, s := range c.schedulesAt(ctx) {
		a, err := c.runSchedule(ctx, s, now)
		if err != nil {
			if ctx.Err() != nil {
				return next, advanced
			}
			c.log.Warn("running a schedule failed", "schedule", s.name, "err", err)
		}
		advanced = advanced || a
		if n := s.spec.Next(now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, advanced
}

// maxTicksPerRun bounds the ticks one run enqueues for one schedule.
const maxTicksPerRun = 1000

// runSchedule enqueues the ticks of s due at now that nobody enqueued:
// those within its grace, each in the transaction that moves the
// schedule past it; and, by its missed policy, one job for the older ones.
// A schedule seen for the first time starts now: it has missed nothing.
func (c *Client) runSchedule(ctx context.Context, s *schedule, now time.Time) (bool, error) {
	store := c.app.Store()
	windowStart := now.Add(-s.opts.Grace)
	last, seen, err := store.LastScheduleTick(ctx, s.name)
	if err != nil {
		return false, err
	}
	advanced := false
	if !seen {
		// A new schedule starts now (a tick at now included). Its row is
		// only created here, never moved: no tick is before the zero time.
		last = now.Add(-time.Millisecond)
		if _, err := store.AdvanceSchedule(ctx, s.name, time.Time{}, last, nil); err != nil {
			return false, err
		}
	}
	if last.Before(windowStart) {
		if first := s.spec.Next(last); !first.IsZero() && !first.After(windowStart) {
			var j *loam.Job
			if s.opts.Missed == RunMissedOnce {
				if j, err = c.tickJob(s, first, now); err != nil {
					return false, err
				}
			}
			ok, err := store.AdvanceSchedule(ctx, s.name, first, windowStart, j)
			if err != nil {
				return false, err
			}
			advanced = ok && j != nil
		}
		last = windowStart
	}
	n := 0
	for tick := s.spec.Next(last); !tick.IsZero() && !tick.After(now) && n < maxTicksPerRun; tick = s.spec.Next(tick) {
		j, err := c.tickJob(s, tick, now)
		if err != nil {
			return advanced, err
		}
		ok, err := store.AdvanceSchedule(ctx, s.name, tick, tick, j)
		if err != nil {
			return advanced, err
		}
		advanced = advanced || ok
		n++
	}
	return advanced, nil
}

// tickJob is the job of one tick of s: its kind's defaults (when this
// client registered the kind) under the schedule's options.
func (c *Client) tickJob(s *schedule, tick, now time.Time) (*loam.Job, error) {
	o := s.opts.Job
	if k := c.kind(s.kind); k != nil {
		o = k.defaults.merge(s.opts.Job)
	}
	o.RunAt = tick
	o.UniqueKey = "schedule:" + s.name + "@" + tick.UTC().Format(loam.TimeLayout)
	return c.newJob(s.kind, s.args, o, now)
}

// scheduleLoop runs the schedules at each of their ticks, and at least
// every ScheduleRefresh, when it reads the stored schedules again.
func (w *worker) scheduleLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, advanced := w.c.runSchedules(ctx, w.c.now())
		if advanced {
			w.wakeUp()
		}
		wait := w.c.cfg.ScheduleRefresh
		if !next.IsZero() {
			wait = min(wait, next.Sub(w.c.now())+time.Millisecond)
		}
		timer.Reset(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.c.schedulesChanged:
		}
	}
}
