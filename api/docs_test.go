package api_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"loam/api/docsui"
)

// TestDocsPage: GET /api/docs answers the page under a strict
// Content-Security-Policy, naming its assets by version; the assets are the
// embedded files, kept by browsers for a year, gzip-compressed for clients
// that take it; an asset of another version or name is not found.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	a := e.do(t, call{Method: "GET", Path: "/api/docs"})
	if a.Status != http.StatusOK || a.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /api/docs: %d %s", a.Status, a.Header.Get("Content-Type"))
	}
	policy := a.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self';",
		"frame-ancestors 'none'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", policy, want)
		}
	}
	if strings.Contains(policy, "unsafe") || strings.Contains(policy, "http") || strings.Contains(policy, "*") {
		t.Errorf("Content-Security-Policy %q lets in more than this origin", policy)
	}
	if a.Header.Get("Cache-Control") != "no-cache" || a.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("page headers: %v", a.Header)
	}
	links := regexp.MustCompile(`"(/api/docs/assets/([0-9a-f]+)/([^"/]+))"`).FindAllStringSubmatch(string(a.Body), -1)
	if len(links) != len(docsui.Assets()) {
		t.Fatalf("the page names %d assets, want %d:\n%s", len(links), len(docsui.Assets()), a.Body)
	}
	get := func(path, encoding string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", e.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", encoding) // set by hand, so the transport leaves the body as sent
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	version := links[0][2]
	for _, asset := range docsui.Assets() {
		path := "/api/docs/assets/" + version + "/" + asset.Name
		if !strings.Contains(string(a.Body), `"`+path+`"`) {
			t.Errorf("the page does not load %s", path)
		}
		for _, encoding := range []string{"gzip, deflate, br", "identity", "gzip;q=0"} {
			resp := get(path, encoding)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			h := resp.Header
			if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != asset.ContentType ||
				h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("Vary") != "Accept-Encoding" {
				t.Errorf("GET %s (%s): %d %v", path, encoding, resp.StatusCode, h)
			}
			gzipped := h.Get("Content-Encoding") == "gzip"
			if gzipped != strings.HasPrefix(encoding, "gzip,") {
				t.Errorf("GET %s with Accept-Encoding %q: Content-Encoding %q", path, encoding, h.Get("Content-Encoding"))
			}
			if gzipped {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, asset.Body) {
				t.Errorf("GET %s (%s): %d bytes, not the embedded %d", path, encoding, len(body), len(asset.Body))
			}
		}
	}
	for _, path := range []string{"/api/docs/assets/0000000000000000/init.js", "/api/docs/assets/" + version + "/index.html",
		"/api/docs/assets/" + version + "/LICENSE"} {
		if resp := get(path, "gzip"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}
