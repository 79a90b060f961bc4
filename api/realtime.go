package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"loam"
	"loam/realtime"
)

const (
	realtimePath       = "/api/realtime"
	realtimeTicketPath = "/api/realtime/ticket"
)

// The stream's event names. Records all come as "record" (the collection is
// in the data), so that no collection name can pass for a control event.
const (
	sseReady  = "ready"
	sseRecord = "record"
	sseReset  = "reset"
	sseError  = "error"
)

// Codes of the error event that ends a stream.
const (
	codeSlowConsumer = "slow_consumer"
	codeShutdown     = "shutting_down"
)

// realtimeStream serves GET /api/realtime: a Server-Sent Events stream of
// the record events the caller subscribed to in the query.
func (s *Server) realtimeStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	who := PrincipalFrom(r)
	if ticket := q.Get("ticket"); ticket != "" {
		p, err := s.app.UseRealtimeTicket(ctx, ticket)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		who = p
	}
	specs, err := realtimeSpecs(q)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	resume, last, err := lastEventID(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	sub, err := s.hub.Subscribe(ctx, who, specs, resume, last)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	defer s.hub.Close(sub)

	rc := http.NewResponseController(w)
	// The server's timeouts bound ordinary requests; a stream lives on, and
	// each write gets a deadline of its own instead, so a client that stops
	// reading cannot hold the handler for ever.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: rc, timeout: s.cfg.WriteTimeout}
	if !sw.event(0, sseReady, []byte(`{}`)) {
		return
	}
	hb := time.NewTicker(s.cfg.RealtimeHeartbeat)
	defer hb.Stop()
	var buf []byte
	for {
		select {
		case m := <-sub.Messages():
			if m.Reset {
				if !sw.event(0, sseReset, []byte(`{"reason":"the events after Last-Event-ID are no longer kept; read afresh"}`)) {
					return
				}
				continue
			}
			buf = append(buf[:0], `{"action":`...)
			buf = appendString(buf, m.Action)
			buf = append(buf, `,"collection":`...)
			buf = appendString(buf, m.Collection.Name)
			buf = append(buf, `,"record":`...)
			buf = appendRecord(buf, m.Collection, m.Record, who.IsSuperuser())
			buf = append(buf, '}')
			if !sw.event(m.Seq, sseRecord, buf) {
				return
			}
		case <-sub.Done():
			code, msg := codeShutdown, "the server is shutting down"
			if err := sub.Err(); errors.Is(err, realtime.ErrSlowConsumer) {
				code, msg = codeSlowConsumer, err.Error()
			} else if err != nil && !errors.Is(err, realtime.ErrShutdown) {
				e, _ := publicError(r, err)
				code, msg = e.Code, e.Message
			}
			sw.errorEvent(code, msg)
			return
		case <-s.closing:
			sw.errorEvent(codeShutdown, "the server is shutting down")
			return
		case <-hb.C:
			if !sw.comment("heartbeat") {
				return
			}
			p, err := s.app.Recheck(ctx, who)
			if err != nil {
				e, _ := publicError(r, err)
				sw.errorEvent(e.Code, e.Message)
				return
			}
			who = p
		case <-ctx.Done():
			return
		}
	}
}

// realtimeTicket serves POST /api/realtime/ticket.
func (s *Server) realtimeTicket(w http.ResponseWriter, r *http.Request) {
	ticket, err := s.app.IssueRealtimeTicket(r.Context(), PrincipalFrom(r))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": ticket, "expiresIn": int(loam.RealtimeTicketTTL / time.Second)})
}

// realtimeSpecs reads subscribe=posts,posts/{id} and filter.posts=...: a
// filter applies to every subscription of its collection, and one for a
// collection not subscribed to is an error.
func realtimeSpecs(q map[string][]string) ([]realtime.Spec, error) {
	var specs []realtime.Spec
	named := map[string]bool{}
	for _, v := range q["subscribe"] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			sp, err := realtime.ParseSpec(part)
			if err != nil {
				return nil, err
			}
			specs = append(specs, sp)
			named[sp.Collection] = true
		}
	}
	if len(specs) == 0 {
		return nil, loam.Errorf(loam.CodeInvalidQuery, "subscribe: name at least one collection or collection/id")
	}
	for key, vs := range q {
		name, ok := strings.CutPrefix(key, "filter.")
		if !ok {
			continue
		}
		if !named[name] || len(vs) != 1 {
			return nil, loam.Errorf(loam.CodeInvalidQuery, "%s: give one filter per subscribed collection", key)
		}
		for i := range specs {
			if specs[i].Collection == name {
				specs[i].Filter = vs[0]
			}
		}
	}
	return specs, nil
}

// lastEventID reads the Last-Event-ID header (EventSource sends it when it
// reconnects) or the lastEventId query parameter.
func lastEventID(r *http.Request) (bool, int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("lastEventId")
	}
	if v == "" {
		return false, 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return false, 0, loam.Errorf(loam.CodeInvalidQuery, "Last-Event-ID must be the id of an event (a whole number)")
	}
	return true, n, nil
}

// sseWriter writes events, each flushed at once under a write deadline.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte
}

func (sw *sseWriter) write(b []byte) bool {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout))
	if _, err := sw.w.Write(b); err != nil {
		return false
	}
	return sw.rc.Flush() == nil
}

// event writes one event; id 0 writes none (control events). data is one
// line of JSON.
func (sw *sseWriter) event(id int64, name string, data []byte) bool {
	b := sw.buf[:0]
	if id > 0 {
		b = append(b, "id: "...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	sw.buf = b
	return sw.write(b)
}

func (sw *sseWriter) comment(text string) bool { return sw.write([]byte(": " + text + "\n\n")) }

// errorEvent writes the event that ends a stream: the error object's code
// and message.
func (sw *sseWriter) errorEvent(code, message string) {
	b := append([]byte(`{"code":`), appendString(nil, code)...)
	b = append(b, `,"message":`...)
	b = appendString(b, message)
	sw.event(0, sseError, append(b, '}'))
}
