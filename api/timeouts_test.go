package api_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"loam"
	"loam/api"
	"loam/sqlite"
)

// A client that sends its headers and then stalls is cut off after the read
// timeout, so slow clients cannot hold connections for ever.
func TestReadTimeoutCutsOffStalledClients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "data.db")})
	if err != nil {
		t.Fatal(err)
	}
	app, err := loam.New(loam.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Stop()
	const timeout = 300 * time.Millisecond
	srv := api.New(app, api.Config{Addr: "127.0.0.1:0", ReadTimeout: timeout})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(ctx)

	// The server's timeout may start as soon as it accepts, which can be
	// before Dial returns: measure from before the dial.
	start := time.Now()
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers promise a body that never comes.
	io.WriteString(conn, "POST /api/collections/x/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // the test's own bound, far above the timeout
	_, err = io.ReadAll(bufio.NewReader(conn))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept a stalled connection open for %v", time.Since(start))
	}
	if took := time.Since(start); took < timeout {
		t.Fatalf("connection ended after %v, before the %v read timeout", took, timeout)
	}
}
