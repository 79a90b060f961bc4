package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"loam"
	"loam/api/docsui"
)

// docsPath is the route of the interactive docs; their assets are under
// docsPath/assets/<version>/, where the version is a hash of their bytes.
const docsPath = "/api/docs"

// docsPolicy is the Content-Security-Policy of the docs page: scripts,
// styles, fonts and requests from this origin only; images from it or data:
// URLs (Swagger UI's icons are data: SVGs in its stylesheet); no plugins,
// no frames, no form sent anywhere, and no framing by other sites. Swagger UI
// needs no inline script or style element under it (React sets its inline
// styles through the DOM, which the policy allows), so no nonce or hash is
// needed: Loam's settings are a file of their own (init.js).
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsUI is the page and its assets, ready to serve: built once per process
// from the embedded files, at the first request.
type docsUI struct {
	version string // a hash of the assets: their URLs change when they do
	page    []byte
	assets  map[string]*docsAsset
}

type docsAsset struct {
	contentType string
	raw, gz     []byte
}

var loadDocsUI = sync.OnceValue(func() *docsUI {
	ui := &docsUI{assets: map[string]*docsAsset{}}
	h := sha256.New()
	for _, a := range docsui.Assets() {
		h.Write([]byte(a.Name))
		h.Write(a.Body)
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(a.Body) // writes to a bytes.Buffer do not fail
		zw.Close()
		ui.assets[a.Name] = &docsAsset{contentType: a.ContentType, raw: a.Body, gz: gz.Bytes()}
	}
	ui.version = hex.EncodeToString(h.Sum(nil))[:16]
	ui.page = docsui.Page(docsPath + "/assets/" + ui.version + "/")
	return ui
})

// docsPage answers GET /api/docs: the page, which must be asked for again
// each time (it names the current assets), under its policy.
func (s *Server) docsPage(w http.ResponseWriter, r *http.Request) {
	ui := loadDocsUI()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", docsPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(ui.page)))
	w.WriteHeader(http.StatusOK)
	w.Write(ui.page)
}

// docsAsset answers GET /api/docs/assets/{version}/{name}. An asset's URL
// names its version, so browsers keep it for a year without asking again;
// another version than the binary's is not found. Assets are sent
// gzip-compressed to clients that take it.
func (s *Server) docsAsset(w http.ResponseWriter, r *http.Request) {
	ui := loadDocsUI()
	a := ui.assets[r.PathValue("name")]
	if a == nil || r.PathValue("version") != ui.version {
		WriteError(w, r, loam.Errorf(loam.CodeNotFound, "no docs asset %s", r.URL.Path))
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	body := a.raw
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip: it names
// gzip or *, without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q=")
		if !ok {
			return true
		}
		if v, err := strconv.ParseFloat(q, 64); err == nil && v > 0 {
			return true
		}
		return false
	}
	return false
}
