package clustertest

import (
	"bufio"
	"bytes"
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
	"text/template"
	"time"

	"loam/postgres/pgtest"
)

var (
	buildOnce sync.Once
	loamBin   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary returns the path of the loam binary, built once from ../cmd/loam.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "loam-cluster-"); buildErr != nil {
			return
		}
		loamBin = filepath.Join(buildDir, "loam")
		out, err := exec.Command("go", "build", "-o", loamBin, "../cmd/loam").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build loam: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return loamBin
}

// requireNginx skips t when nginx is missing, or fails it when
// LOAM_REQUIRE_NGINX=1.
func requireNginx(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nginx")
	if err == nil {
		return path
	}
	if os.Getenv("LOAM_REQUIRE_NGINX") == "1" {
		t.Fatalf("nginx is required (LOAM_REQUIRE_NGINX=1) but not on the PATH: %v", err)
	}
	t.Skipf("nginx is not installed: %v", err)
	return ""
}

// syncBuffer collects a process's stderr.
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

// proc is one running loam process.
type proc struct {
	name   string
	addr   string // host:port of an api instance
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

var servingRE = regexp.MustCompile(`^Loam is (serving http://([^/]+)/api/|running )`)

// start runs `loam serve` with args and waits for the line that says it
// runs; for the api role that line gives its address.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(binary(t), append([]string{"serve"}, args...)...),
		stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	p.cmd.Env = append(os.Environ(), "LOAM_LOG_LEVEL=warn")
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[2]:
				default:
				}
			}
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() || os.Getenv("LOAM_CLUSTER_LOGS") == "1" {
			t.Logf("%s stderr:\n%s", p.name, tail(p.stderr.String(), 4000))
		}
	})
	select {
	case p.addr = <-ready:
	case <-p.done:
		t.Fatalf("%s exited before it was ready:\n%s", name, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s was not ready after 60 s:\n%s", name, p.stderr)
	}
	return p
}

// kill ends p with SIGKILL, as a crash would.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// balancer runs nginx from deploy/nginx/loam.conf.tmpl in front of the
// upstreams and returns its base URL.
func balancer(t *testing.T, upstreams []string) string {
	t.Helper()
	nginx := requireNginx(t)
	tmpl, err := template.ParseFiles("../deploy/nginx/loam.conf.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	listen := freePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "root" // workers keep the rights to the test's temporary files
	}
	var conf bytes.Buffer
	if err := tmpl.Execute(&conf, map[string]any{"Dir": dir, "Listen": listen, "Upstreams": upstreams, "User": user}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, conf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	base := "http://" + listen
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %s\n%s", stderr, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer /api/health within 30 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cluster is a running cluster: the balancer's URL, the api instances, the
// database, and a superuser's token.
type cluster struct {
	db      string
	lb      string
	api     []*proc
	super   string
	client  *http.Client
	workDir string
}

const (
	superEmail    = "root@example.com"
	superPassword = "the cluster's root password"
)

// newCluster starts PostgreSQL's database, the api instances, a worker,
// two schedulers and nginx. extra are flags for every process.
func newCluster(t *testing.T, apis int, extra ...string) *cluster {
	t.Helper()
	requireNginx(t)
	c := &cluster{db: pgtest.URL(t), workDir: t.TempDir(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	common := append([]string{"--db", c.db, "--dir", c.workDir}, extra...)
	out, err := exec.Command(binary(t), "superuser", "create", superEmail, superPassword, "--db", c.db, "--dir", c.workDir).CombinedOutput()
	if err != nil {
		t.Fatalf("superuser create: %v\n%s", err, out)
	}
	var ups []string
	for i := range apis {
		p := start(t, fmt.Sprintf("api%d", i+1), append([]string{"--roles", "api", "--http", "127.0.0.1:0"}, common...)...)
		c.api = append(c.api, p)
		ups = append(ups, p.addr)
	}
	start(t, "worker", append([]string{"--roles", "worker"}, common...)...)
	start(t, "scheduler1", append([]string{"--roles", "scheduler"}, common...)...)
	start(t, "scheduler2", append([]string{"--roles", "scheduler"}, common...)...)
	c.lb = balancer(t, ups)
	a := c.do(t, c.lb, "POST", "/api/collections/_superusers/auth/password", "",
		map[string]string{"identity": superEmail, "password": superPassword}, nil)
	if a.status != 200 {
		t.Fatalf("superuser sign-in: %d %s", a.status, a.body)
	}
	c.super = a.str(t, "token")
	return c
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, a.body)
	}
	return m
}

func (a *answer) str(t *testing.T, key string) string {
	t.Helper()
	s, _ := a.json(t)[key].(string)
	return s
}

// send makes one request to base (the balancer's URL, or an instance's);
// body is JSON-encoded unless it is a string.
func (c *cluster) send(ctx context.Context, base, method, path, token string, body any, header map[string]string) (*answer, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(raw)
	}
	if !strings.HasPrefix(base, "http") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return nil, err
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// do is send that fails t on a transport error.
func (c *cluster) do(t *testing.T, base, method, path, token string, body any, header map[string]string) *answer {
	t.Helper()
	a, err := c.send(context.Background(), base, method, path, token, body, header)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	return a
}

// must is do that also checks the status.
func (c *cluster) must(t *testing.T, status int, base, method, path, token string, body any) *answer {
	t.Helper()
	a := c.do(t, base, method, path, token, body, nil)
	if a.status != status {
		t.Fatalf("%s %s%s: status %d, want %d: %s", method, base, path, a.status, status, a.body)
	}
	return a
}
