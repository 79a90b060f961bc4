// Package realtime delivers record events to subscribers: one Hub per
// process reads the event log in seq order (woken by this process's writes
// and, on PostgreSQL, by other instances' NOTIFY, with a slow poll as a
// safety net), checks each event against every subscriber's view rule and
// filter in memory with the expression evaluator, and hands each
// subscriber the record as it may read it, through a bounded buffer.
package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"loam"
	"loam/expr"
)

// Config configures a Hub. Zero values take the defaults.
type Config struct {
	// Logger receives the hub's warnings (default: discard).
	Logger *slog.Logger
	// Buffer is how many events a subscriber may have waiting (default
	// 256); one more cuts it off as a slow consumer.
	Buffer int
	// Poll is the safety poll of the event log, for wake-ups that were
	// missed (default 1s).
	Poll time.Duration
	// GapWait bounds how long later events wait for a missing seq whose
	// transaction may still commit (PostgreSQL; default 10s).
	GapWait time.Duration
	// Retention and Keep bound the event log, and so how far back
	// Last-Event-ID can replay: events older than Retention (default 24h)
	// or more than Keep below the newest (default 100 000) are purged every
	// PurgeEvery (default 1 min; negative: never).
	Retention  time.Duration
	Keep       int64
	PurgeEvery time.Duration
	// Clock gives the time of the gap deadline and purges (default
	// time.Now); tests set a fake one.
	Clock func() time.Time
}

func (cfg *Config) defaults() {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.GapWait <= 0 {
		cfg.GapWait = 10 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 100_000
	}
	if cfg.PurgeEvery == 0 {
		cfg.PurgeEvery = time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
}

// pageSize is how many events one read of the log takes.
const pageSize = 500

// gapPoll is how soon the log is read again while later events wait for a
// missing seq.
const gapPoll = 20 * time.Millisecond

// Hub reads the event log and dispatches events to subscribers.
type Hub struct {
	app *loam.App
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	watermark int64 // every event up to it has been dispatched (or is known absent)
	started   bool
	subs      map[string]map[*Subscription]struct{} // collection -> subscribers
	gap       *gap

	cancel context.CancelFunc
	done   chan struct{}
}

// gap is a missing seq that later events wait for: final once a read's
// snapshot xmin reaches xmax, the xmax of the read that first missed it.
type gap struct {
	seq   int64
	xmax  int64
	since time.Time
}

// New returns a Hub for app. Call Start before Subscribe.
func New(app *loam.App, cfg Config) *Hub {
	cfg.defaults()
	return &Hub{app: app, cfg: cfg, log: cfg.Logger, subs: map[string]map[*Subscription]struct{}{}}
}

// Start reads where the log ends and starts dispatching what comes after.
func (h *Hub) Start(ctx context.Context) error {
	store := h.app.Store()
	last, err := h.newest(ctx)
	if err != nil {
		return fmt.Errorf("start realtime: %w", err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wake <-chan struct{}
	if n, ok := store.(loam.EventNotifier); ok {
		wake = n.EventSignal(wctx)
	}
	h.mu.Lock()
	h.watermark, h.started = last, true
	h.mu.Unlock()
	h.cancel, h.done = cancel, make(chan struct{})
	go h.run(wctx, wake)
	return nil
}

// Stop stops dispatching and ends every subscription.
func (h *Hub) Stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			h.endLocked(s, ErrShutdown)
		}
	}
}

// newest returns the seq of the newest event (0: none).
func (h *Hub) newest(ctx context.Context) (int64, error) {
	var last int64
	for {
		page, err := h.app.Store().ReadEvents(ctx, last, pageSize)
		if err != nil {
			return 0, err
		}
		if len(page.Events) == 0 {
			return max(last, page.Oldest), nil
		}
		last = page.Events[len(page.Events)-1].Seq
	}
}

func (h *Hub) run(ctx context.Context, wake <-chan struct{}) {
	defer close(h.done)
	poll := time.NewTimer(0)
	defer poll.Stop()
	lastPurge := h.cfg.Clock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
		if err := h.dispatch(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("realtime: reading events failed", "err", err)
		}
		h.mu.Lock()
		waiting := h.gap != nil
		h.mu.Unlock()
		next := h.cfg.Poll
		if waiting {
			next = gapPoll
		}
		poll.Reset(next)
		if now := h.cfg.Clock(); h.cfg.PurgeEvery > 0 && now.Sub(lastPurge) >= h.cfg.PurgeEvery {
			lastPurge = now
			if _, err := h.app.Store().PurgeEvents(ctx, now.Add(-h.cfg.Retention), h.cfg.Keep); err != nil && ctx.Err() == nil {
				h.log.Warn("realtime: purging events failed", "err", err)
			}
		}
	}
}

// dispatch reads the log past the watermark and delivers, in seq order,
// until the log is read or a missing seq may still commit.
func (h *Hub) dispatch(ctx context.Context) error {
	for {
		h.mu.Lock()
		after := h.watermark
		h.mu.Unlock()
		page, err := h.app.Store().ReadEvents(ctx, after, pageSize)
		if err != nil {
			return err
		}
		h.mu.Lock()
		more := h.deliverLocked(ctx, page)
		h.mu.Unlock()
		if !more || len(page.Events) < pageSize {
			return nil
		}
	}
}

// deliverLocked delivers the events of page that follow the watermark
// without a gap that may still fill; it reports whether it reached the end
// of the page.
func (h *Hub) deliverLocked(ctx context.Context, page *loam.EventPage) bool {
	for i := range page.Events {
		e := &page.Events[i]
		if e.Seq <= h.watermark {
			continue
		}
		if e.Seq > h.watermark+1 && !h.gapFinalLocked(page) {
			return false
		}
		h.gap = nil
		h.deliverEventLocked(ctx, e)
		h.watermark = e.Seq
	}
	return true
}

// gapFinalLocked decides whether the seqs between the watermark and the
// next event of page are gone for good. Where events become visible in
// seq order (Xmax 0) they are; on PostgreSQL once a read's snapshot shows
// that every transaction that could hold them has ended, or after GapWait.
func (h *Hub) gapFinalLocked(page *loam.EventPage) bool {
	if page.Xmax == 0 {
		return true
	}
	missing := h.watermark + 1
	now := h.cfg.Clock()
	if h.gap == nil || h.gap.seq != missing {
		h.gap = &gap{seq: missing, xmax: page.Xmax, since: now}
		return false
	}
	if page.Xmin >= h.gap.xmax {
		return true
	}
	if now.Sub(h.gap.since) >= h.cfg.GapWait {
		h.log.Warn("realtime: an event seq stayed missing past the gap deadline; later events go on", "seq", missing, "waited", now.Sub(h.gap.since))
		return true
	}
	return false
}

// deliverEventLocked hands e to every subscriber whose subscriptions it
// meets, as that subscriber may read it.
func (h *Hub) deliverEventLocked(ctx context.Context, e *loam.Event) {
	set := h.subs[e.Collection]
	if len(set) == 0 {
		return
	}
	c, rec, err := h.app.EventRecord(e)
	if err != nil {
		h.log.Warn("realtime: an event's record does not decode", "seq", e.Seq, "err", err)
		return
	}
	if rec == nil {
		return
	}
	data := h.app.EvalData(ctx)
	version := h.app.Schema().Version
	for s := range set {
		if s.last >= e.Seq {
			continue
		}
		s.last = e.Seq
		ok, err := s.meets(h.app, version, c, rec, data)
		if err != nil {
			h.endLocked(s, err)
			continue
		}
		if !ok {
			continue
		}
		s.offerLocked(h, Message{Seq: e.Seq, Collection: c, Action: e.Action, Record: h.app.ReaderCopy(ctx, s.who, c, rec)})
	}
}

// Errors that end a subscription.
var (
	// ErrSlowConsumer: the subscriber's buffer was full.
	ErrSlowConsumer = errors.New("the client reads too slowly: its buffer of events is full")
	// ErrShutdown: the hub stopped.
	ErrShutdown = errors.New("the server is shutting down")
)

// endLocked removes s and closes it with err.
func (h *Hub) endLocked(s *Subscription, err error) {
	if s.ended {
		return
	}
	s.ended, s.err = true, err
	for _, name := range s.collections() {
		delete(h.subs[name], s)
		if len(h.subs[name]) == 0 {
			delete(h.subs, name)
		}
	}
	close(s.done)
}

// evalRecord is rec for the evaluator.
func evalRecord(rec *loam.Record) expr.Record { return loam.EvalRecord{Record: rec} }
