package cli

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the flusher goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogWriterFlushesOnCloseAndKeepsOrder(t *testing.T) {
	var out lockedBuffer
	lw := newLogWriter(&out, time.Hour) // no timed flush during the test
	var want bytes.Buffer
	for i := 0; i < 1000; i++ {
		line := []byte("line " + string(rune('a'+i%26)) + "\n")
		lw.Write(line)
		want.Write(line)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Fatalf("wrote %d bytes, want %d in order", len(out.String()), want.Len())
	}
}

func TestLogWriterBuffers(t *testing.T) {
	var out lockedBuffer
	lw := newLogWriter(&out, time.Hour)
	lw.Write([]byte("one line\n"))
	if got := out.String(); got != "" {
		t.Fatalf("a short line was written through at once: %q", got)
	}
	lw.Flush()
	if got := out.String(); got != "one line\n" {
		t.Fatalf("after Flush: %q", got)
	}
	lw.Close()
}
