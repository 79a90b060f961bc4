package api_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/api"
)

// TestCORS: answers to an allowed origin carry Access-Control-Allow-Origin
// (with credentials for a listed origin, never under *), a preflight from it
// gets the allowed methods, headers and max-age, and any other origin gets no
// CORS header at all. Every answer varies by Origin.
func TestCORS(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		const app, dev, evil = "https://app.example.com", "http://localhost:5173", "https://evil.example"
		preflight := func(origin, method string) map[string]string {
			return map[string]string{"Origin": origin, "Access-Control-Request-Method": method,
				"Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}
		}
		type want struct {
			status      int
			allow       string // Access-Control-Allow-Origin; "" for none
			credentials bool
			preflight   bool // the Allow-Methods, Allow-Headers and Max-Age of a preflight
		}
		type corsCase struct {
			name    string
			method  string
			path    string
			headers map[string]string
			want    want
		}
		for _, step := range []struct {
			settings string
			cases    []corsCase
		}{
			{`{"corsOrigins":["https://app.example.com","http://localhost:5173"]}`, []corsCase{
				{"a listed origin", "GET", "/api/health", map[string]string{"Origin": app}, want{200, app, true, false}},
				{"another listed origin", "GET", "/api/health", map[string]string{"Origin": dev}, want{200, dev, true, false}},
				{"an error answer too", "GET", "/api/nowhere", map[string]string{"Origin": app}, want{404, app, true, false}},
				{"an origin not listed", "GET", "/api/health", map[string]string{"Origin": evil}, want{200, "", false, false}},
				{"a listed origin's look-alike", "GET", "/api/health", map[string]string{"Origin": app + ".evil.example"},
					want{200, "", false, false}},
				{"no origin", "GET", "/api/health", nil, want{200, "", false, false}},
				{"a preflight from a listed origin", "OPTIONS", "/api/collections/posts/records", preflight(app, "POST"),
					want{204, app, true, true}},
				{"a preflight from another origin", "OPTIONS", "/api/collections/posts/records", preflight(evil, "PATCH"),
					want{204, "", false, false}},
				{"OPTIONS that is not a preflight", "OPTIONS", "/api/health", map[string]string{"Origin": app},
					want{405, app, true, false}},
			}},
			{`{"corsOrigins":["*","https://app.example.com"]}`, []corsCase{
				{"any origin under *", "GET", "/api/health", map[string]string{"Origin": evil}, want{200, "*", false, false}},
				{"a preflight under *", "OPTIONS", "/api/settings", preflight(evil, "PATCH"), want{204, "*", false, true}},
				{"a listed origin beside *", "GET", "/api/health", map[string]string{"Origin": app}, want{200, app, true, false}},
			}},
			{`{"corsOrigins":[]}`, []corsCase{
				{"none allowed", "GET", "/api/health", map[string]string{"Origin": app}, want{200, "", false, false}},
				{"no preflight allowed", "OPTIONS", "/api/health", preflight(app, "GET"), want{204, "", false, false}},
			}},
		} {
			e.patchSettings(t, step.settings)
			for _, tc := range step.cases {
				t.Run(step.settings+" "+tc.name, func(t *testing.T) {
					a := e.do(t, call{Method: tc.method, Path: tc.path, Headers: tc.headers})
					h := a.Header
					if a.Status != tc.want.status {
						t.Errorf("status %d, want %d: %s", a.Status, tc.want.status, a.Body)
					}
					if got := h.Get("Access-Control-Allow-Origin"); got != tc.want.allow {
						t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.want.allow)
					}
					if got := h.Get("Access-Control-Allow-Credentials") == "true"; got != tc.want.credentials {
						t.Errorf("Access-Control-Allow-Credentials %q, want it %v", h.Get("Access-Control-Allow-Credentials"), tc.want.credentials)
					}
					if !slices.Contains(h.Values("Vary"), "Origin") {
						t.Errorf("Vary %q lacks Origin", h.Values("Vary"))
					}
					methods, headers := h.Get("Access-Control-Allow-Methods"), h.Get("Access-Control-Allow-Headers")
					if tc.want.preflight {
						for _, m := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
							if !strings.Contains(methods, m) {
								t.Errorf("Access-Control-Allow-Methods %q lacks %s", methods, m)
							}
						}
						for _, x := range []string{"Authorization", "Content-Type", "Idempotency-Key", "If-Match"} {
							if !strings.Contains(headers, x) {
								t.Errorf("Access-Control-Allow-Headers %q lacks %s", headers, x)
							}
						}
						if age, err := strconv.Atoi(h.Get("Access-Control-Max-Age")); err != nil || age <= 0 {
							t.Errorf("Access-Control-Max-Age %q", h.Get("Access-Control-Max-Age"))
						}
					} else if methods != "" || headers != "" || h.Get("Access-Control-Max-Age") != "" {
						t.Errorf("preflight headers on this answer: %q %q", methods, headers)
					}
					if tc.want.allow != "" && tc.method != "OPTIONS" && !strings.Contains(h.Get("Access-Control-Expose-Headers"), "Retry-After") {
						t.Errorf("Access-Control-Expose-Headers %q", h.Get("Access-Control-Expose-Headers"))
					}
				})
			}
		}
	})
}

// TestSecurityHeaders: every answer (JSON, errors, the docs page) carries
// nosniff, DENY framing, a referrer policy and a CSP (the docs page its
// own); HSTS only when the request came over TLS: directly, or through a
// trusted proxy that says so, never because an untrusted client says so.
func TestSecurityHeaders(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		proto := map[string]string{"X-Forwarded-Proto": "https"}
		check := func(t *testing.T, h http.Header, csp string, hsts bool) {
			t.Helper()
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Referrer-Policy": "no-referrer"} {
				if got := h.Get(k); got != v {
					t.Errorf("%s %q, want %q", k, got, v)
				}
			}
			if got := h.Get("Content-Security-Policy"); !strings.Contains(got, csp) || !strings.Contains(got, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q, want one with %q and frame-ancestors 'none'", got, csp)
			}
			if got := h.Get("Strict-Transport-Security"); (got != "") != hsts || hsts && !strings.Contains(got, "max-age=") {
				t.Errorf("Strict-Transport-Security %q, want it: %v", got, hsts)
			}
		}
		for _, tc := range []struct {
			name    string
			c       call
			csp     string
			hsts    bool
			proxies string
		}{
			{"JSON", call{Method: "GET", Path: "/api/health"}, "default-src 'none'", false, ""},
			{"an error", call{Method: "GET", Path: "/api/collections/nope/records"}, "default-src 'none'", false, ""},
			{"a 405", call{Method: "PUT", Path: "/api/health"}, "default-src 'none'", false, ""},
			{"the docs page keeps its own policy", call{Method: "GET", Path: "/api/docs"}, "script-src 'self'", false, ""},
			{"an untrusted client saying https", call{Method: "GET", Path: "/api/health", Headers: proto}, "default-src 'none'", false, ""},
			{"a trusted proxy saying https", call{Method: "GET", Path: "/api/health", Headers: proto}, "default-src 'none'", true, "127.0.0.1"},
			{"a trusted proxy saying http", call{Method: "GET", Path: "/api/health",
				Headers: map[string]string{"X-Forwarded-Proto": "http"}}, "default-src 'none'", false, "127.0.0.1"},
			{"a client's https before the proxy's http", call{Method: "GET", Path: "/api/health",
				Headers: map[string]string{"X-Forwarded-Proto": "https, http"}}, "default-src 'none'", false, "127.0.0.1"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.patchSettings(t, `{"trustedProxies":[`+quoteIf(tc.proxies)+`]}`)
				a := e.do(t, tc.c)
				check(t, a.Header, tc.csp, tc.hsts)
			})
		}
		e.patchSettings(t, `{"trustedProxies":null}`)
		t.Run("over TLS", func(t *testing.T) {
			srv := httptest.NewUnstartedServer(api.New(e.app, api.Config{}).Handler())
			srv.StartTLS()
			defer srv.Close()
			client := srv.Client()
			client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
			resp, err := client.Get(srv.URL + "/api/health")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			check(t, resp.Header, "default-src 'none'", true)
		})
	})
}

func quoteIf(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

// TestTrustedProxiesAndThrottle: the sign-in throttle counts the client
// address. A client that is not a trusted proxy cannot pick its address by
// sending X-Forwarded-For: rotating it does not dodge the limit. Behind a
// trusted proxy (here the test client's own 127.0.0.1), the address is the
// forwarded one, so each forwarded client has its own count.
func TestTrustedProxiesAndThrottle(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			e := startEnv(t, store, openStore(t, store), loam.Config{Clock: clock.Now,
				Throttle: loam.Throttle{Window: 10 * time.Minute, FailuresPerIdentity: 100, FailuresPerIP: 3}})
			attempt := func(i int, xff string) *answer {
				return e.do(t, call{Method: "POST", Path: "/api/collections/_superusers/auth/password",
					Body:    `{"identity":"nobody` + strconv.Itoa(i) + `@example.com","password":"wrong"}`,
					Headers: map[string]string{"X-Forwarded-For": xff}})
			}
			for i := range 3 {
				if a := attempt(i, "198.51.100."+strconv.Itoa(i)); a.Status != 401 {
					t.Fatalf("failure %d: %d %s", i, a.Status, a.Body)
				}
			}
			if a := attempt(3, "198.51.100.99"); a.Status != 429 {
				t.Errorf("an untrusted client rotating X-Forwarded-For dodged the limit: %d %s", a.Status, a.Body)
			}
			clock.Advance(10 * time.Minute)
			e.patchSettings(t, `{"trustedProxies":["127.0.0.1/32","::1"]}`)
			for i := range 6 {
				// Two forwarded clients, three failures each: neither is over.
				xff := "203.0.113." + strconv.Itoa(i%2) + ", 127.0.0.1"
				if a := attempt(10+i, xff); a.Status != 401 {
					t.Fatalf("forwarded failure %d (%s): %d %s", i, xff, a.Status, a.Body)
				}
			}
			if a := attempt(20, "203.0.113.0"); a.Status != 429 {
				t.Errorf("a forwarded client's fourth failure: %d %s", a.Status, a.Body)
			}
			if a := attempt(21, "6.6.6.6, 203.0.113.0"); a.Status != 429 {
				t.Errorf("a client that prepends a forged hop is still itself: %d %s", a.Status, a.Body)
			}
			if a := attempt(22, "203.0.113.7"); a.Status != 401 {
				t.Errorf("another forwarded client: %d %s", a.Status, a.Body)
			}
		})
	}
}

// TestRateLimits: per-route limits of the settings are counted in the
// database, so two instances share them; past the limit the answer is 429
// rate_limited with Retry-After and nothing is written, bad credentials
// included; other routes are not counted; "auth" limits count per signed-in record; the window ends on
// the clock.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), loam.Config{Clock: clock.Now})
			_, ann := e.signUp(t)
			e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"}],
				"rules":{"list":"","view":"","create":"","update":null,"delete":null}}`)
			e2 := instance(t, store, open(), loam.Config{Clock: clock.Now}) // another instance, with the same schema
			e.patchSettings(t, `{"rateLimits":[{"route":"POST /api/collections/*/records","max":3,"window":"1m"},
				{"route":"GET /api/collections/posts/records","max":2,"window":"30s","by":"auth"}]}`)
			clock.Advance(loam.SettingsCheck) // the second instance reads them at its next check
			create := scenario{Method: "POST", Path: "/api/collections/posts/records", Body: `{"title":"x"}`, Status: 201}
			named := func(sc scenario, name string) scenario { sc.Name = name; return sc }
			limited := func(t *testing.T, a *answer) {
				if s, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
					t.Errorf("Retry-After %q, want 1..60 seconds", a.Header.Get("Retry-After"))
				}
			}
			e.run(t, []scenario{named(create, "first"), named(create, "second")})
			e2.run(t, []scenario{named(create, "third, on the other instance")})
			over := create
			over.Status, over.Code, over.Check, over.Unchanged = 429, "rate_limited", limited, true
			badToken := over
			badToken.Token = "not-a-token"
			e2.run(t, []scenario{named(over, "fourth, over the limit"), named(badToken, "a bad token is counted too")})
			e.run(t, []scenario{
				named(over, "over on the first instance too"),
				{Name: "another route is not counted", Method: "GET", Path: "/api/health", Status: 200},
				{Name: "ann lists", Method: "GET", Path: "/api/collections/posts/records", Token: ann, Status: 200},
				{Name: "ann lists again", Method: "GET", Path: "/api/collections/posts/records", Token: ann, Status: 200},
				{Name: "ann is over", Method: "GET", Path: "/api/collections/posts/records", Token: ann, Status: 429,
					Code: "rate_limited", Check: limited},
				{Name: "the superuser has a count of its own", Method: "GET", Path: "/api/collections/posts/records",
					Token: e.super, Status: 200},
				{Name: "a single record is another route", Method: "GET", Path: "/api/collections/posts/records/aaaaaaaaaaaaaaa",
					Token: ann, Status: 404, Code: "not_found"},
			})
			if n := e.count(t, "posts"); n != 3 {
				t.Errorf("%d posts, want 3: the refused creates wrote nothing", n)
			}
			clock.Advance(time.Minute)
			e2.run(t, []scenario{
				named(create, "a window later"),
				{Name: "ann, a window later", Method: "GET", Path: "/api/collections/posts/records", Token: ann, Status: 200},
			})
			e.patchSettings(t, `{"rateLimits":null}`)
			for i := range 4 {
				e.run(t, []scenario{named(create, "no limit any more "+strconv.Itoa(i))})
			}
		})
	}
}

// TestOutboundHostsSetting: the outboundHosts setting is the allow-list of
// http jobs, live: a host refused before a PATCH is accepted after it.
func TestOutboundHostsSetting(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		job := `{"kind":"http","args":{"url":"https://hooks.example.com/paid"}}`
		e.run(t, []scenario{
			{Name: "not an allowed host", Method: "POST", Path: "/api/jobs", Token: e.super, Body: job,
				Status: 400, Code: "validation_failed", Fields: errs{"args.url": "invalid"}},
			{Name: "allow it", Method: "PATCH", Path: "/api/settings", Token: e.super,
				Body: `{"outboundHosts":["*.example.com"]}`, Status: 200},
			{Name: "now it is", Method: "POST", Path: "/api/jobs", Token: e.super, Body: job, Status: 201},
		})
	})
}
