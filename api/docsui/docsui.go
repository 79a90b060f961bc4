// Package docsui holds the interactive documentation that package api serves
// at /api/docs: the built files of Swagger UI (the npm package
// swagger-ui-dist; its version and the registry's integrity hash are in
// VERSION, each file's SHA-256 in SHA256SUMS, all written by
// scripts/refresh-docs-ui) and Loam's page and settings around them. They are
// embedded in the binary: the page needs no network but its own server's.
package docsui

import (
	"bytes"
	"embed"
	"io/fs"
	"path"
)

//go:embed dist/swagger-ui-bundle.js dist/swagger-ui.css page/init.js page/index.html
var files embed.FS

// assetNames are the files the page loads, by the name it asks for them by,
// with the embedded file each one is.
var assetNames = map[string]string{
	"swagger-ui-bundle.js": "dist/swagger-ui-bundle.js",
	"swagger-ui.css":       "dist/swagger-ui.css",
	"init.js":              "page/init.js",
}

// Asset is one file the page loads.
type Asset struct {
	Name        string
	ContentType string
	Body        []byte
}

// Assets returns the files the page loads: Swagger UI's script and styles
// and Loam's settings, init.js.
func Assets() []Asset {
	var out []Asset
	for _, name := range []string{"swagger-ui-bundle.js", "swagger-ui.css", "init.js"} {
		out = append(out, Asset{Name: name, ContentType: contentType(name), Body: mustRead(assetNames[name])})
	}
	return out
}

// Page returns the HTML of the page, which loads the assets from prefix
// (a path that ends in a slash). It holds no inline script or style.
func Page(prefix string) []byte {
	return bytes.ReplaceAll(mustRead("page/index.html"), []byte("{{assets}}"), []byte(prefix))
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "application/octet-stream"
}

// mustRead reads an embedded file; they are all there by construction.
func mustRead(name string) []byte {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		panic("docsui: " + err.Error())
	}
	return b
}
