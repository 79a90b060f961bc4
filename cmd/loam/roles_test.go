package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMainWebAndWorkerProcesses: one binary gives the web process and the
// worker process. A webhook job enqueued through the web process's API
// (which runs no worker) is made by the worker process, to a host of
// --outbound-hosts, given as an environment variable to one and as a flag
// to the other.
func TestMainWebAndWorkerProcesses(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/paid" && string(b) == `{"order":42}` {
			hits.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(hook.Close)
	u, _ := url.Parse(hook.URL)
	dir := t.TempDir()
	if out, err := exec.Command(bin, "superuser", "create", "root@example.com", "a long password", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("superuser create: %v\n%s", err, out)
	}
	web := start(t, []string{"LOAM_ROLES=api", "LOAM_OUTBOUND_HOSTS=" + u.Host}, "serve", "--http", "127.0.0.1:0", "--dir", dir)
	base := "http://" + web.serving(t)
	worker := start(t, nil, "serve", "--roles", "worker", "--outbound-hosts", u.Host, "--dir", dir)
	if l := worker.line(t, worker.stdout, "stdout"); !strings.HasPrefix(l, "Loam is running the worker (data: SQLite ") {
		t.Fatalf("the worker process said %q", l)
	}

	call := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %v", method, path, resp.StatusCode, err)
		}
		return resp.StatusCode, m
	}
	status, m := call("POST", "/api/collections/_superusers/auth/password", "", `{"identity":"root@example.com","password":"a long password"}`)
	token, _ := m["token"].(string)
	if status != http.StatusOK || token == "" {
		t.Fatalf("sign in: %d %v", status, m)
	}
	status, m = call("POST", "/api/jobs", token, `{"kind":"http","args":{"url":"`+hook.URL+`/paid","json":{"order":42}}}`)
	if status != http.StatusCreated {
		t.Fatalf("enqueue: %d %v", status, m)
	}
	id := jsonText(m["id"])
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, m = call("GET", "/api/jobs/"+id, token, "")
		if status != http.StatusOK {
			t.Fatalf("get job: %d %v", status, m)
		}
		if m["state"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job is still %v after 30s: %v\nworker stderr:\n%s", m["state"], m, worker.stderrText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r, _ := m["result"].(map[string]any); jsonText(r["status"]) != "202" || hits.Load() != 1 {
		t.Errorf("completed job %v; the hook was reached %d times", m, hits.Load())
	}
	for _, p := range []*proc{web, worker} {
		if code := p.exit(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, p.stderrText())
		}
	}
	if strings.Contains(web.stderrText(), "jobs worker started") {
		t.Errorf("the web process ran a worker:\n%s", web.stderrText())
	}
	if !strings.Contains(worker.stderrText(), "jobs worker started") || strings.Contains(worker.stderrText(), "jobs scheduler started") {
		t.Errorf("the worker process ran other roles than the worker:\n%s", worker.stderrText())
	}
}

// jsonText renders a decoded JSON number or string.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}
