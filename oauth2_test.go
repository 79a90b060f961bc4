package loam

import (
	"net/url"
	"strings"
	"testing"
)

// redirectApp is an App with the redirect allow-list of the tests below.
// testAppURL is the app URL the redirect tests assume.
const testAppURL = "https://app.example/base"

func redirectApp() *App {
	return &App{redirects: []string{"https://other.example", "http://127.0.0.1:3000/cb"}}
}

func TestAllowedRedirect(t *testing.T) {
	a := redirectApp()
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://app.example/", true},
		{"https://app.example/done?x=1", true},   // the whole origin of the app URL
		{"https://APP.example/done", true},       // hosts fold case
		{"https://other.example/any/path", true}, // an allowed origin
		{"http://127.0.0.1:3000/cb", true},       // an allowed URL, exactly
		{"http://127.0.0.1:3000/cb?x", false},    // not exactly
		{"http://127.0.0.1:3000/other", false},   // a URL with a path admits only itself
		{"http://app.example/", false},           // another scheme is another origin
		{"https://app.example:444/", false},      // another port too
		{"https://app.example.evil.com/", false}, // a longer host
		{"https://evil.com/https://app.example/", false},
		{"https://app.example@evil.com/", false}, // credentials
		{"https://user@app.example/", false},
		{"https://app.example/#x", false}, // the fragment is ours
		{"//app.example/", false},         // relative
		{"/done", false},
		{"javascript:alert(1)", false},
		{"https:app.example", false}, // opaque
		{"https://app.example\\@evil.com/", false},
		{"https://app.example/\r\nSet-Cookie: x", false},
		{"", false},
	} {
		if got := a.allowedRedirect(testAppURL, tc.url); got != tc.want {
			t.Errorf("allowedRedirect(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
	if (&App{}).allowedRedirect("", "https://app.example/") {
		t.Error("with no app URL and no allowed URLs, a redirect was allowed")
	}
}

// FuzzAllowedRedirect: whatever the input, an allowed redirect is an
// absolute http(s) URL without credentials or fragment, on an allowed
// origin or equal to an allowed URL.
func FuzzAllowedRedirect(f *testing.F) {
	for _, s := range []string{"https://app.example/", "https://other.example/x", "http://127.0.0.1:3000/cb",
		"https://app.example.evil.com/", "https://a@app.example/", "//app.example", "https://app.example/#f",
		"HTTPS://APP.EXAMPLE/", "https://app.example%2f@evil/", "https://[::1]/"} {
		f.Add(s)
	}
	a := redirectApp()
	f.Fuzz(func(t *testing.T, s string) {
		if !a.allowedRedirect(testAppURL, s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil || u.User != nil || u.Fragment != "" || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("allowed %q: %v %+v", s, err, u)
		}
		origin := strings.ToLower(u.Scheme + "://" + u.Host)
		if origin != "https://app.example" && origin != "https://other.example" && s != "http://127.0.0.1:3000/cb" {
			t.Fatalf("allowed %q, whose origin %s is not allowed", s, origin)
		}
	})
}

func TestProviderPresets(t *testing.T) {
	for _, tc := range []struct {
		p         OAuth2Provider
		discovery string
		multi     bool
		scopes    string
	}{
		{OAuth2Provider{Name: "google"}, "https://accounts.google.com/.well-known/openid-configuration", false, "openid email profile"},
		{OAuth2Provider{Name: "microsoft"}, "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration", true, "openid email profile"},
		{OAuth2Provider{Name: "microsoft", Tenant: "contoso.onmicrosoft.com"},
			"https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", false, "openid email profile"},
		{OAuth2Provider{Name: "gitlab", Issuer: "https://git.corp.example/"}, "https://git.corp.example/.well-known/openid-configuration", false, "openid email profile"},
		{OAuth2Provider{Name: "apple"}, "https://appleid.apple.com/.well-known/openid-configuration", false, "openid email name"},
		{OAuth2Provider{Name: "corp", DiscoveryURL: "https://id.corp.example/oidc/config", Scopes: []string{"email", "openid", "email"}},
			"https://id.corp.example/oidc/config", false, "openid email"},
	} {
		if got := tc.p.discoveryURL(); got != tc.discovery {
			t.Errorf("%s: discovery URL %q, want %q", tc.p.Name, got, tc.discovery)
		}
		if got := tc.p.multiTenant(); got != tc.multi {
			t.Errorf("%s: multi-tenant %v, want %v", tc.p.Name, got, tc.multi)
		}
		if got := strings.Join(tc.p.scopes(), " "); got != tc.scopes {
			t.Errorf("%s: scopes %q, want %q", tc.p.Name, got, tc.scopes)
		}
	}
}
