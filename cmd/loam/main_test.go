package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"loam/sqlite"
)

// bin is the loam binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loam-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "loam")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build loam:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// baseEnv is the test's environment without LOAM_* settings, so that only
// what a test sets reaches the binary.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOAM_") {
			env = append(env, kv)
		}
	}
	return env
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running loam binary.
type proc struct {
	cmd    *exec.Cmd
	stdout <-chan string
	stderr <-chan string

	mu      sync.Mutex
	errText strings.Builder // every stderr line, for messages
	waited  chan struct{}
	state   *os.ProcessState // set before waited is closed
	waitErr error
	errEOF  chan struct{} // closed once every stderr line is in errText
}

// lines hands the lines of r to a channel, closed (and r with it) at EOF;
// tee sees each line first, and eof (when not nil) is closed at EOF.
func lines(r io.ReadCloser, tee func(string), eof chan struct{}) <-chan string {
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		defer r.Close()
		if eof != nil {
			defer close(eof)
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if tee != nil {
				tee(sc.Text())
			}
			ch <- sc.Text()
		}
	}()
	return ch
}

// start runs the binary with env added to the clean environment.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), waited: make(chan struct{}), errEOF: make(chan struct{})}
	p.cmd.Env = append(baseEnv(), env...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.stdout = lines(out, nil, nil)
	p.stderr = lines(errPipe, func(l string) {
		p.mu.Lock()
		p.errText.WriteString(l + "\n")
		p.mu.Unlock()
	}, p.errEOF)
	go func() {
		// Process.Wait, unlike Cmd.Wait, leaves the pipes to their readers.
		p.state, p.waitErr = p.cmd.Process.Wait()
		close(p.waited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.waited
	})
	return p
}

func (p *proc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errText.String()
}

// line returns the next line of ch, failing the test if the stream ends or
// stays silent for 30 s.
func (p *proc) line(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case l, ok := <-ch:
		if !ok {
			t.Fatalf("%s ended early; stderr:\n%s", what, p.stderrText())
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s line within 30s; stderr:\n%s", what, p.stderrText())
	}
	return ""
}

// waitFor reads stderr lines until one contains s.
func (p *proc) waitFor(t *testing.T, s string) string {
	t.Helper()
	for {
		if l := p.line(t, p.stderr, "stderr"); strings.Contains(l, s) {
			return l
		}
	}
}

// exit sends sig and returns the exit code.
func (p *proc) exit(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	return p.wait(t)
}

func (p *proc) wait(t *testing.T) int {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for _, ch := range []chan struct{}{p.waited, p.errEOF} {
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("loam did not exit within 60s; stderr:\n%s", p.stderrText())
		}
	}
	if p.waitErr != nil {
		t.Fatalf("wait: %v", p.waitErr)
	}
	return p.state.ExitCode()
}

var servingRe = regexp.MustCompile(`^Loam is serving http://(\S+)/api/ \(data: (.+)\)$`)

// serving waits for the URL line and returns the address it names.
func (p *proc) serving(t *testing.T) string {
	t.Helper()
	l := p.line(t, p.stdout, "stdout")
	m := servingRe.FindStringSubmatch(l)
	if m == nil {
		t.Fatalf("first stdout line %q is not the URL line", l)
	}
	return m[1]
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestMainServeAndStop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	p := start(t, nil, "serve", "--http", addr, "--dir", dir)
	first := p.line(t, p.stdout, "stdout")
	want := fmt.Sprintf("Loam is serving http://%s/api/ (data: SQLite %s)", addr, filepath.Join(dir, "data.db"))
	if first != want {
		t.Fatalf("URL line:\n got %q\nwant %q", first, want)
	}
	if l := p.line(t, p.stdout, "stdout"); !strings.Contains(l, "No superuser yet") {
		t.Fatalf("want the first-superuser hint, got %q", l)
	}
	if l := p.line(t, p.stdout, "stdout"); !strings.Contains(l, "loam superuser create ") || !strings.Contains(l, "--dir '"+dir+"'") {
		t.Fatalf("want the command that creates the first superuser in %s, got %q", dir, l)
	}
	resp, body := get(t, "http://"+addr+"/api/health")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("health: Content-Type %q", ct)
	}

	// A request in flight when SIGTERM comes is finished: the handler reads
	// the body (the server sends 100 Continue), then SIGTERM, then the body.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := `{"identity":"nobody@example.com","password":"not the password"}`
	fmt.Fprintf(conn, "POST /api/collections/_superusers/auth/password HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", addr, len(payload))
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue once the handler reads the body, got %q %v", status, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after 100 Continue
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "shutting down")
	if _, err := io.WriteString(conn, payload); err != nil {
		t.Fatalf("send the rest of the in-flight request: %v", err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"unauthenticated"`) {
		t.Fatalf("in-flight request: want 401 unauthenticated (it needed the database), got %d %s", resp.StatusCode, b)
	}

	if code := p.wait(t); code != 0 {
		t.Fatalf("SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderrText())
	}
	if !strings.Contains(p.stderrText(), "msg=stopped") {
		t.Fatalf("no stopped line on stderr:\n%s", p.stderrText())
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("the port still accepts connections after exit")
	}

	// The database was closed cleanly: the WAL was checkpointed away, and it opens and is migrated.
	path := filepath.Join(dir, "data.db")
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("%s-wal holds %d bytes after a clean stop: the database was not closed", path, fi.Size())
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
}

func TestMainInterrupt(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "serve", "--http", "127.0.0.1:0", "--dir", t.TempDir())
	p.serving(t)
	if code := p.exit(t, os.Interrupt); code != 0 {
		t.Fatalf("SIGINT: exit %d, want 0; stderr:\n%s", code, p.stderrText())
	}
}

func TestMainJSONLogsAndRequestID(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "serve", "--http", "127.0.0.1:0", "--dir", t.TempDir(), "--log-format", "json")
	addr := p.serving(t)
	base := "http://" + addr

	type logLine struct {
		Msg       string `json:"msg"`
		Level     string `json:"level"`
		RequestID string `json:"request_id"`
		Method    string `json:"method"`
		Path      string `json:"path"`
		Status    int    `json:"status"`
	}
	// requestLog reads stderr until the request log line with id; every line must be JSON.
	requestLog := func(id string) logLine {
		t.Helper()
		for {
			l := p.line(t, p.stderr, "stderr")
			var ll logLine
			if err := json.Unmarshal([]byte(l), &ll); err != nil {
				t.Fatalf("--log-format json wrote a line that is not JSON: %q", l)
			}
			if ll.Msg == "request" && ll.RequestID == id {
				return ll
			}
		}
	}

	resp, _ := get(t, base+"/api/health", "X-Request-Id", "abc-123")
	if got := resp.Header.Get("X-Request-Id"); got != "abc-123" {
		t.Fatalf("X-Request-Id: got %q, want the caller's abc-123", got)
	}
	if ll := requestLog("abc-123"); ll.Method != "GET" || ll.Path != "/api/health" || ll.Status != 200 || ll.Level != "INFO" {
		t.Fatalf("request log: %+v", ll)
	}

	resp, _ = get(t, base+"/api/collections/nope/records")
	id := resp.Header.Get("X-Request-Id")
	if id == "" || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("want a generated request id and 404, got %q %d", id, resp.StatusCode)
	}
	if ll := requestLog(id); ll.Method != "GET" || ll.Path != "/api/collections/nope/records" || ll.Status != 404 {
		t.Fatalf("request log: %+v", ll)
	}

	// An id that could forge log lines or is too long is replaced.
	for _, bad := range []string{"abc 123", `x","status":200`, strings.Repeat("a", 65)} {
		resp, _ = get(t, base+"/api/health", "X-Request-Id", bad)
		if got := resp.Header.Get("X-Request-Id"); got == bad || got == "" {
			t.Fatalf("X-Request-Id %q: echoed %q, want a fresh id", bad, got)
		}
		requestLog(resp.Header.Get("X-Request-Id"))
	}

	if code := p.exit(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit %d; stderr:\n%s", code, p.stderrText())
	}
	var sawStopped bool
	for l := range p.stderr {
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("--log-format json wrote a line that is not JSON: %q", l)
		}
		sawStopped = sawStopped || ll.Msg == "stopped"
	}
	if !sawStopped {
		t.Fatalf("no JSON stopped line:\n%s", p.stderrText())
	}
}

func TestMainHTTPFromEnvironment(t *testing.T) {
	t.Parallel()
	envAddr := freeAddr(t)
	p := start(t, []string{"LOAM_HTTP=" + envAddr}, "serve", "--dir", t.TempDir())
	if got := p.serving(t); got != envAddr {
		t.Fatalf("with LOAM_HTTP=%s and no --http: serving on %s", envAddr, got)
	}
	if resp, _ := get(t, "http://"+envAddr+"/api/health"); resp.StatusCode != http.StatusOK {
		t.Fatalf("health on LOAM_HTTP's address: %d", resp.StatusCode)
	}
	if code := p.exit(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}

	flagAddr := freeAddr(t)
	p = start(t, []string{"LOAM_HTTP=" + envAddr}, "serve", "--http", flagAddr, "--dir", t.TempDir())
	if got := p.serving(t); got != flagAddr {
		t.Fatalf("--http %s must win over LOAM_HTTP=%s: serving on %s", flagAddr, envAddr, got)
	}
	if code := p.exit(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}

	// LOAM_DIR is read too, and the URL line says where the data is.
	dir := t.TempDir()
	p = start(t, []string{"LOAM_DIR=" + dir}, "serve", "--http", "127.0.0.1:0")
	l := p.line(t, p.stdout, "stdout")
	if m := servingRe.FindStringSubmatch(l); m == nil || m[2] != "SQLite "+filepath.Join(dir, "data.db") {
		t.Fatalf("with LOAM_DIR=%s: %q", dir, l)
	}
	if code := p.exit(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "data.db")); err != nil {
		t.Fatalf("LOAM_DIR was not used: %v", err)
	}
}

func TestMainUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"help"}, 0},
		{[]string{"bogus"}, 2},
		{[]string{"serve", "--http"}, 2},
		{[]string{"serve", "--http", "127.0.0.1:notaport", "--dir", t.TempDir()}, 1},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = baseEnv()
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("loam %q: exit %d, want %d\n%s", tc.args, code, tc.code, out)
		}
	}
}
