package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRoutes covers health, readiness, unknown routes and wrong methods:
// every non-2xx answer is the JSON error object.
func TestRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		allow := func(want ...string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				got := map[string]bool{}
				for _, m := range strings.Split(a.Header.Get("Allow"), ",") {
					got[strings.TrimSpace(m)] = true
				}
				for _, m := range want {
					if !got[m] {
						t.Errorf("Allow %q lacks %s", a.Header.Get("Allow"), m)
					}
				}
				if len(got) != len(want) {
					t.Errorf("Allow %q, want exactly %v", a.Header.Get("Allow"), want)
				}
			}
		}
		e.run(t, []scenario{
			{Name: "health", Method: "GET", Path: "/api/health", Status: 200,
				Check: func(t *testing.T, a *answer) {
					if strings.TrimSpace(string(a.Body)) != `{"status":"ok"}` {
						t.Errorf("health body %s", a.Body)
					}
					if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("health Content-Type %q", ct)
					}
				}},
			{Name: "ready", Method: "GET", Path: "/api/ready", Status: 200},
			{Name: "health carries a request id", Method: "GET", Path: "/api/health", Status: 200,
				Headers: map[string]string{"X-Request-Id": "abc-123"},
				Check: func(t *testing.T, a *answer) {
					if a.Header.Get("X-Request-Id") != "abc-123" {
						t.Errorf("X-Request-Id %q, want the caller's abc-123", a.Header.Get("X-Request-Id"))
					}
				}},
			{Name: "unknown route", Method: "GET", Path: "/api/nope", Status: 404, Code: "not_found", Unchanged: true},
			{Name: "unknown route outside api", Method: "GET", Path: "/nope/at/all", Status: 404, Code: "not_found"},
			{Name: "unknown route under a collection", Method: "GET", Path: "/api/collections/posts/nope", Token: e.super,
				Status: 404, Code: "not_found"},
			{Name: "POST health", Method: "POST", Path: "/api/health", Body: `{}`, Status: 405, Code: "method_not_allowed",
				Check: allow("GET", "HEAD")},
			{Name: "DELETE collections", Method: "DELETE", Path: "/api/collections", Token: e.super, Status: 405,
				Code: "method_not_allowed", Check: allow("GET", "HEAD", "POST"), Unchanged: true},
			{Name: "PUT a collection", Method: "PUT", Path: "/api/collections/_superusers", Token: e.super, Body: `{}`,
				Status: 405, Code: "method_not_allowed", Check: allow("GET", "HEAD", "PATCH", "DELETE"), Unchanged: true},
			{Name: "PUT records", Method: "PUT", Path: "/api/collections/_superusers/records", Token: e.super, Body: `{}`,
				Status: 405, Code: "method_not_allowed", Check: allow("GET", "HEAD", "POST"), Unchanged: true},
			{Name: "POST a record", Method: "POST", Path: "/api/collections/_superusers/records/" + e.superID, Token: e.super,
				Body: `{}`, Status: 405, Code: "method_not_allowed", Check: allow("GET", "HEAD", "PATCH", "DELETE"), Unchanged: true},
			{Name: "GET auth/password", Method: "GET", Path: "/api/collections/_superusers/auth/password", Status: 405,
				Code: "method_not_allowed", Check: allow("POST")},
		})
		// HEAD answers like GET without a body.
		if a := e.do(t, call{Method: "HEAD", Path: "/api/health"}); a.Status != http.StatusOK || len(a.Body) != 0 {
			t.Errorf("HEAD /api/health: %d %q", a.Status, a.Body)
		}
	})
}

// TestReadyWhenTheDatabaseIsGone: once the store is closed, ready answers
// 503 with the JSON error object while health still answers 200.
func TestReadyWhenTheDatabaseIsGone(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		if err := e.app.Stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		e.run(t, []scenario{
			{Name: "ready", Method: "GET", Path: "/api/ready", Status: 503, Code: "unavailable"},
			{Name: "health", Method: "GET", Path: "/api/health", Status: 200},
		})
	})
}
