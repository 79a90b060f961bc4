package loam

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

// snapshotOf compiles settings for tests, failing on invalid ones.
func snapshotOf(t testing.TB, s Settings) *SettingsSnapshot {
	t.Helper()
	s = s.withDefaults()
	c, err := compileSettings(&s)
	if err != nil {
		t.Fatalf("compile %+v: %v", s, err)
	}
	return &SettingsSnapshot{Settings: s, c: c}
}

// TestClientIP: X-Forwarded-For counts only when the peer is a trusted
// proxy, and then only up to the first hop that is not one, read from the
// right; whatever a client writes to the left of that is ignored.
func TestClientIP(t *testing.T) {
	t.Parallel()
	snap := snapshotOf(t, Settings{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"}})
	for _, tc := range []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"an untrusted peer is the client", "203.0.113.5", nil, "203.0.113.5"},
		{"an untrusted peer cannot name another address", "203.0.113.5", []string{"1.2.3.4"}, "203.0.113.5"},
		{"an untrusted peer cannot name a trusted one", "203.0.113.5", []string{"10.0.0.1"}, "203.0.113.5"},
		{"a trusted proxy names the client", "10.0.0.1", []string{"1.2.3.4"}, "1.2.3.4"},
		{"a trusted proxy without a header", "10.0.0.1", nil, "10.0.0.1"},
		{"a forged hop left of the real one", "10.0.0.1", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},
		{"two trusted proxies", "10.0.0.1", []string{"1.2.3.4, 192.0.2.7"}, "1.2.3.4"},
		{"a trusted-looking hop left of the client", "10.0.0.1", []string{"10.9.9.9, 1.2.3.4"}, "1.2.3.4"},
		{"every hop trusted", "10.0.0.1", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"several header lines", "10.0.0.1", []string{"6.6.6.6", "1.2.3.4"}, "1.2.3.4"},
		{"junk left of the client", "10.0.0.1", []string{"junk, 1.2.3.4"}, "1.2.3.4"},
		{"junk as the nearest hop", "10.0.0.1", []string{"1.2.3.4, junk"}, "10.0.0.1"},
		{"junk behind a second proxy", "10.0.0.1", []string{"1.2.3.4, junk, 10.0.0.2"}, "10.0.0.2"},
		{"a port is not an address", "10.0.0.1", []string{"1.2.3.4:5678"}, "10.0.0.1"},
		{"spaces around hops", "10.0.0.1", []string{"  1.2.3.4  ,10.0.0.2 "}, "1.2.3.4"},
		{"an empty header", "10.0.0.1", []string{""}, "10.0.0.1"},
		{"IPv6 through an IPv6 proxy", "fd00::1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"an IPv4-mapped trusted peer", "::ffff:10.0.0.1", []string{"1.2.3.4"}, "1.2.3.4"},
		{"an IPv4-mapped client", "10.0.0.1", []string{"::ffff:1.2.3.4"}, "1.2.3.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := snap.ClientIP(netip.MustParseAddr(tc.peer), tc.xff)
			if got.String() != tc.want {
				t.Errorf("ClientIP(%s, %q) = %s, want %s", tc.peer, tc.xff, got, tc.want)
			}
		})
	}
	if none := snapshotOf(t, Settings{}); none.ClientIP(netip.MustParseAddr("127.0.0.1"), []string{"1.2.3.4"}).String() != "127.0.0.1" {
		t.Error("without trusted proxies X-Forwarded-For counted")
	}
}

// FuzzClientIP: whatever the header holds, the client is the peer or an
// address written in the header, and an untrusted peer is always itself.
func FuzzClientIP(f *testing.F) {
	for _, seed := range [][2]string{{"10.0.0.1", "1.2.3.4"}, {"10.0.0.1", "a, b, 10.0.0.2"}, {"203.0.113.5", "1.2.3.4"},
		{"fd00::1", "2001:db8::1, fd00::2"}, {"10.0.0.1", ",,,"}, {"10.0.0.1", "::ffff:1.2.3.4%eth0"}} {
		f.Add(seed[0], seed[1])
	}
	snap := snapshotOf(f, Settings{TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"}})
	f.Fuzz(func(t *testing.T, peer, xff string) {
		p, err := netip.ParseAddr(peer)
		if err != nil {
			return
		}
		p = p.Unmap()
		got := snap.ClientIP(p, []string{xff})
		if !snap.TrustedProxy(p) && got != p {
			t.Fatalf("untrusted peer %s became %s", p, got)
		}
		if got != p && !strings.Contains(xff, strings.TrimPrefix(got.String(), "::ffff:")) && !strings.Contains(xff, got.String()) {
			// A parsed hop may be written differently (zeros, case): it must parse to got.
			found := false
			for _, hop := range strings.Split(xff, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && a.Unmap() == got {
					found = true
				}
			}
			if !found {
				t.Fatalf("client %s is neither the peer nor in %q", got, xff)
			}
		}
	})
}

// TestRateRuleMatch: a rule's route matches the method (any without one;
// HEAD as GET) and the path segment by segment, * standing for one.
func TestRateRuleMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		route, method, path string
		want                bool
	}{
		{"POST /api/collections/*/records", "POST", "/api/collections/posts/records", true},
		{"POST /api/collections/*/records", "GET", "/api/collections/posts/records", false},
		{"POST /api/collections/*/records", "POST", "/api/collections/posts/records/abc", false},
		{"POST /api/collections/*/records", "POST", "/api/collections//records", false},
		{"POST /api/collections/*/records", "POST", "/api/collections/records", false},
		{"/api/health", "GET", "/api/health", true},
		{"/api/health", "DELETE", "/api/health", true},
		{"/api/health", "GET", "/api/health/", false},
		{"/api/health", "GET", "/api/healthz", false},
		{"GET /api/health", "HEAD", "/api/health", true},
		{"GET /api/*", "GET", "/api/health", true},
		{"GET /api/*", "GET", "/api", false},
		{"GET /api/*/*", "GET", "/api/jobs/1", true},
		{"/", "GET", "/", true},
		{"/", "GET", "/api", false},
	} {
		r, err := compileRateLimit(RateLimit{Route: tc.route, Max: 1, Window: "1m", By: RateByIP})
		if err != nil {
			t.Fatalf("compile %q: %v", tc.route, err.msg)
		}
		if got := r.matches(tc.method, tc.path); got != tc.want {
			t.Errorf("%q matches %s %s: %v, want %v", tc.route, tc.method, tc.path, got, tc.want)
		}
	}
}

// FuzzSettingsChange: any body is either refused with invalid_json or
// validation_failed (with field errors), or gives valid settings whose
// public form never holds the password.
func FuzzSettingsChange(f *testing.F) {
	for _, seed := range []string{`{}`, `{"smtp":{"port":25,"password":"pw"}}`, `{"smtp":null}`, `{"nope":1}`,
		`{"rateLimits":[{"route":"POST /api/*","max":5,"window":"1m","by":"auth"}]}`, `{"corsOrigins":["*","https://a.b"]}`,
		`{"trustedProxies":["10.0.0.0/8","::1"]}`, `{"outboundHosts":["*.example.com","h:8443"]}`, `[]`, `null`,
		`{"appURL":"https://x.example/"}`, `{"sender":{"name":"A","address":"a@b.example"},"smtp":{"host":"m.example"}}`} {
		f.Add(seed)
	}
	defaults := Settings{SMTP: SMTPSettings{Password: "default secret"}}.withDefaults()
	f.Fuzz(func(t *testing.T, body string) {
		patch, err := checkSettingsChange([]byte(body))
		if err != nil {
			if c := CodeOf(err); c != CodeInvalidJSON && c != CodeValidationFailed {
				t.Fatalf("%q: code %s", body, c)
			}
			return
		}
		stored := mergePatch(nil, patch)
		raw, err := json.Marshal(stored)
		if err != nil {
			t.Fatalf("%q: encode: %v", body, err)
		}
		eff, err := effectiveSettings(defaults, raw)
		if err != nil {
			t.Fatalf("%q: a checked change does not decode: %v", body, err)
		}
		if _, err := compileSettings(&eff); err != nil {
			if CodeOf(err) != CodeValidationFailed {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		pub, err := eff.MarshalPublic()
		if err != nil {
			t.Fatal(err)
		}
		var answered struct {
			SMTP map[string]any `json:"smtp"`
		}
		if err := json.Unmarshal(pub, &answered); err != nil {
			t.Fatal(err)
		}
		if _, has := answered.SMTP["password"]; has || answered.SMTP["passwordSet"] != (eff.SMTP.Password != "") {
			t.Fatalf("%q: the password is answered, or passwordSet is wrong: %s", body, pub)
		}
	})
}

// TestMergePatch: objects merge member by member, null removes, anything
// else replaces; an object left empty goes.
func TestMergePatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ target, patch, want string }{
		{`{}`, `{"appURL":"x"}`, `{"appURL":"x"}`},
		{`{"smtp":{"host":"a","port":1}}`, `{"smtp":{"port":2}}`, `{"smtp":{"host":"a","port":2}}`},
		{`{"smtp":{"host":"a"}}`, `{"smtp":{"host":null}}`, `{}`},
		{`{"smtp":{"host":"a"}}`, `{"smtp":null}`, `{}`},
		{`{"corsOrigins":["a","b"]}`, `{"corsOrigins":["c"]}`, `{"corsOrigins":["c"]}`},
		{`{"appURL":"x"}`, `{"appURL":null,"sender":{"name":"n"}}`, `{"sender":{"name":"n"}}`},
	} {
		var target, patch map[string]any
		_ = json.Unmarshal([]byte(tc.target), &target)
		_ = json.Unmarshal([]byte(tc.patch), &patch)
		got, _ := json.Marshal(mergePatch(target, patch))
		if string(got) != tc.want {
			t.Errorf("merge %s into %s: %s, want %s", tc.patch, tc.target, got, tc.want)
		}
	}
}
