package realtime

import (
	"context"
	"fmt"
	"strings"

	"loam"
	"loam/expr"
)

// Spec is one subscription as a client asks for it: every record of a
// collection, or the one record ID, optionally narrowed by a filter of the
// filter language.
type Spec struct {
	Collection string
	ID         string
	Filter     string
}

// ParseSpec reads "collection" or "collection/id".
func ParseSpec(s string) (Spec, error) {
	name, id, hasID := strings.Cut(s, "/")
	if name == "" || (hasID && !loam.ValidID(id)) {
		return Spec{}, loam.Errorf(loam.CodeInvalidQuery, "subscribe: %q is not a collection or collection/id", s)
	}
	return Spec{Collection: name, ID: id}, nil
}

// Message is what a subscriber receives: an event it may see, with the
// record as it may read it, or (Reset) word that events it asked to replay
// are no longer kept, so it should read afresh what it shows.
type Message struct {
	Seq        int64
	Collection *loam.Collection
	Action     string
	Record     *loam.Record
	Reset      bool
}

// Subscription is one subscriber's stream of messages.
type Subscription struct {
	who     *loam.Principal
	specs   []bound
	version int64 // the schema version specs were bound under
	ch      chan Message
	done    chan struct{}
	// Guarded by the hub's mutex once registered.
	last  int64 // the newest seq the subscriber has been offered
	ended bool
	err   error
}

type bound struct {
	Spec
	cond expr.Cond
}

// Messages is the stream. It is not closed; Done is.
func (s *Subscription) Messages() <-chan Message { return s.ch }

// Done is closed when the hub ends the subscription; Err then says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is why the hub ended the subscription (ErrSlowConsumer, ErrShutdown,
// or the error of binding it again after a schema change). Read it after
// Done is closed.
func (s *Subscription) Err() error { return s.err }

func (s *Subscription) collections() []string {
	var out []string
	for _, b := range s.specs {
		out = append(out, b.Collection)
	}
	return out
}

// bind binds every spec for s.who under the live schema.
func (s *Subscription) bind(app *loam.App) error {
	s.version = app.Schema().Version
	for i := range s.specs {
		cond, err := app.WatchCondition(s.who, s.specs[i].Collection, s.specs[i].Filter)
		if err != nil {
			return err
		}
		s.specs[i].cond = cond
	}
	return nil
}

// meets reports whether rec (of c) reaches s, binding its specs again
// when the schema changed since (a changed view rule holds at once).
func (s *Subscription) meets(app *loam.App, version int64, c *loam.Collection, rec *loam.Record, data expr.Data) (bool, error) {
	if version != s.version {
		if err := s.bind(app); err != nil {
			return false, fmt.Errorf("the subscription no longer holds: %w", err)
		}
	}
	for _, b := range s.specs {
		if b.Collection != c.Name || (b.ID != "" && b.ID != rec.ID) {
			continue
		}
		if b.cond == nil || expr.Eval(b.cond, evalRecord(rec), data) {
			return true, nil
		}
	}
	return false, nil
}

// offerLocked queues m for s without waiting; a full buffer ends s as a
// slow consumer, so a subscriber never holds more than Buffer messages.
func (s *Subscription) offerLocked(h *Hub, m Message) {
	select {
	case s.ch <- m:
	default:
		h.endLocked(s, ErrSlowConsumer)
	}
}

// Subscribe binds specs for who and returns the subscription. Bad specs
// (unknown collection, bad filter, a view rule who does not pass) are
// errors and nothing is registered. With resume, events after lastSeq are
// replayed from the log first (a Reset message first when the log no
// longer reaches back that far), then live ones follow, with neither gap
// nor repeat. ctx bounds the replay; call Close when the subscriber goes.
func (h *Hub) Subscribe(ctx context.Context, who *loam.Principal, specs []Spec, resume bool, lastSeq int64) (*Subscription, error) {
	if len(specs) == 0 {
		return nil, loam.Errorf(loam.CodeInvalidQuery, "subscribe: name at least one collection or collection/id")
	}
	s := &Subscription{who: who, ch: make(chan Message, h.cfg.Buffer), done: make(chan struct{})}
	for _, sp := range specs {
		s.specs = append(s.specs, bound{Spec: sp})
	}
	if err := s.bind(h.app); err != nil {
		return nil, err
	}
	h.mu.Lock()
	if !h.started {
		h.mu.Unlock()
		return nil, loam.Errorf(loam.CodeUnavailable, "realtime is not running")
	}
	if !resume || lastSeq >= h.watermark {
		s.last = max(lastSeq, h.watermark)
		h.registerLocked(s)
		h.mu.Unlock()
		return s, nil
	}
	h.mu.Unlock()
	go h.replay(ctx, s, lastSeq)
	return s, nil
}

func (h *Hub) registerLocked(s *Subscription) {
	if s.ended {
		return
	}
	for _, name := range s.collections() {
		set := h.subs[name]
		if set == nil {
			set = map[*Subscription]struct{}{}
			h.subs[name] = set
		}
		set[s] = struct{}{}
	}
}

// replay sends s the events after from that the log keeps, up to the
// watermark, then registers s where the replay ended, so the dispatcher
// goes on from there. Sends wait for the subscriber (the buffer bounds what
// waits) until ctx ends.
func (h *Hub) replay(ctx context.Context, s *Subscription, from int64) {
	first := true
	for {
		h.mu.Lock()
		w := h.watermark
		if s.ended || from >= w {
			s.last = max(from, w)
			h.registerLocked(s)
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		page, err := h.app.Store().ReadEvents(ctx, from, pageSize)
		if err != nil {
			h.fail(s, fmt.Errorf("replay events: %w", err))
			return
		}
		if first && page.Oldest > from+1 {
			if !h.send(ctx, s, Message{Reset: true}) {
				return
			}
			from = w
			continue
		}
		first = false
		reached := w
		for i := range page.Events {
			e := &page.Events[i]
			if e.Seq > w {
				break
			}
			if m, ok := h.replayed(ctx, s, e); ok && !h.send(ctx, s, m) {
				return
			}
			from = e.Seq
		}
		if len(page.Events) < pageSize || from >= reached {
			from = max(from, reached)
		}
	}
}

// replayed is the message of a replayed event for s, if it reaches s.
func (h *Hub) replayed(ctx context.Context, s *Subscription, e *loam.Event) (Message, bool) {
	c, rec, err := h.app.EventRecord(e)
	if err != nil || rec == nil {
		return Message{}, false
	}
	ok, err := s.meets(h.app, h.app.Schema().Version, c, rec, h.app.EvalData(ctx))
	if err != nil {
		h.fail(s, err)
		return Message{}, false
	}
	if !ok {
		return Message{}, false
	}
	return Message{Seq: e.Seq, Collection: c, Action: e.Action, Record: h.app.ReaderCopy(ctx, s.who, c, rec)}, true
}

// send waits until m is queued for s; false when s or ctx ended first.
func (h *Hub) send(ctx context.Context, s *Subscription, m Message) bool {
	select {
	case s.ch <- m:
		return true
	case <-s.done:
	case <-ctx.Done():
	}
	return false
}

func (h *Hub) fail(s *Subscription, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(s, err)
}

// Close ends s; the hub forgets it.
func (h *Hub) Close(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(s, nil)
}
