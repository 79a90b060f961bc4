package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name, id, data string
}

// subscribe opens GET /api/realtime?query on base and returns the events
// as they come; the stream ends with ctx.
func subscribe(t *testing.T, ctx context.Context, base, query string) <-chan sseEvent {
	t.Helper()
	if !strings.HasPrefix(base, "http") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/realtime?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("open the stream on %s: %v", base, err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		t.Fatalf("open the stream on %s: %d", base, resp.StatusCode)
	}
	out := make(chan sseEvent, 64)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "id:"):
				ev.id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
			case strings.HasPrefix(line, "data:"):
				ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
	}()
	return out
}

// next returns the next event other than a heartbeat, or fails t.
func next(t *testing.T, events <-chan sseEvent, what string) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatalf("the stream ended before %s", what)
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatalf("no event in 30 s waiting for %s", what)
	}
	return sseEvent{}
}

// recordEvent waits for the record event of id.
func recordEvent(t *testing.T, events <-chan sseEvent, id string) {
	t.Helper()
	for {
		ev := next(t, events, "the event of "+id)
		if ev.name != "record" {
			continue
		}
		var m struct {
			Action string         `json:"action"`
			Record map[string]any `json:"record"`
		}
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			t.Fatalf("event data %q: %v", ev.data, err)
		}
		if m.Record["id"] == id {
			if m.Action != "create" {
				t.Errorf("action %q, want create", m.Action)
			}
			return
		}
	}
}
