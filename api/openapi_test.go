package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

var update = flag.Bool("update", false, "rewrite the golden OpenAPI documents in testdata/")

// everyTypeSchema creates collections that use every field type and option
// and every kind of rule, so the generated document shows all of them.
func everyTypeSchema(t *testing.T, e *env) {
	t.Helper()
	e.mustCreateCollection(t, `{"name":"users","type":"auth",
		"fields":[{"name":"name","type":"text","min":2,"max":50,"pattern":"^[^<>]*$"},
		          {"name":"avatar","type":"url"},
		          {"name":"notes","type":"text","hidden":true},
		          {"name":"role","type":"select","values":["reader","editor"],"default":"reader"}],
		"rules":{"list":null,"view":"","create":"","update":null,"delete":null},
		"auth":{"minPasswordLength":10}}`)
	e.mustCreateCollection(t, `{"name":"posts",
		"fields":[{"name":"title","type":"text","required":true,"max":200},
		          {"name":"slug","type":"text","unique":true,"pattern":"^[a-z0-9-]+$"},
		          {"name":"views","type":"number","integer":true,"min":0},
		          {"name":"score","type":"number","min":-1.5,"max":1.5},
		          {"name":"published","type":"bool"},
		          {"name":"contact","type":"email"},
		          {"name":"site","type":"url"},
		          {"name":"due","type":"date"},
		          {"name":"status","type":"select","values":["draft","live"],"required":true,"default":"draft"},
		          {"name":"tags","type":"select","values":["go","sql","web"],"multiple":true,"max":2},
		          {"name":"meta","type":"json"},
		          {"name":"author","type":"relation","collection":"users","required":true},
		          {"name":"editors","type":"relation","collection":"users","multiple":true,"min":1},
		          {"name":"stamp","type":"autodate","onCreate":true,"onUpdate":true},
		          {"name":"secret","type":"text","hidden":true}],
		"indexes":[{"name":"posts_views","fields":["views"]}],
		"rules":{"list":"","view":"","create":"","update":"","delete":null}}`)
	e.mustCreateCollection(t, `{"name":"inbox","fields":[{"name":"message","type":"text","required":true}],
		"rules":{"list":null,"view":null,"create":"","update":null,"delete":null}}`)
	e.mustCreateCollection(t, `{"name":"audit","fields":[{"name":"what","type":"text"}]}`)
}

// TestOpenAPIDocument: GET /api/openapi.json answers the document of the
// live schema, for superusers and for everybody else; both are the golden
// files in testdata (which scripts/test also has redocly lint), and both
// load and validate with kin-openapi.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	everyTypeSchema(t, e)
	for _, who := range []struct{ name, token string }{{"superuser", e.super}, {"anonymous", ""}} {
		t.Run(who.name, func(t *testing.T) {
			a := e.do(t, call{Method: "GET", Path: "/api/openapi.json", Token: who.token})
			if a.Status != http.StatusOK {
				t.Fatalf("GET /api/openapi.json: %d %s", a.Status, a.Body)
			}
			again := e.do(t, call{Method: "GET", Path: "/api/openapi.json", Token: who.token,
				Headers: map[string]string{"If-None-Match": a.Header.Get("ETag")}})
			if again.Status != http.StatusNotModified {
				t.Errorf("GET with the document's ETag: %d, want 304", again.Status)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, a.Body, "", "  "); err != nil {
				t.Fatalf("the document is not JSON: %v", err)
			}
			out.WriteByte('\n')
			golden := filepath.Join("testdata", "openapi."+who.name+".json")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./api -run TestOpenAPIDocument -update to write it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("the document differs from %s (go test ./api -run TestOpenAPIDocument -update rewrites it):\n%s",
					golden, firstDiff(string(want), out.String()))
			}
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData(a.Body)
			if err != nil {
				t.Fatalf("kin-openapi cannot load the document: %v", err)
			}
			if err := doc.Validate(loader.Context); err != nil {
				t.Fatalf("kin-openapi finds the document invalid: %v", err)
			}
		})
	}
}

// firstDiff shows the first line where two texts differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl
		}
	}
	return ""
}

// TestOpenAPIFollowsTheSchema: the document changes the moment the schema
// does, and shows others only what they may use: a collection with null
// rules appears to them once a rule opens it.
func TestOpenAPIFollowsTheSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	paths := func(token string) (map[string]any, string) {
		t.Helper()
		a := e.do(t, call{Method: "GET", Path: "/api/openapi.json", Token: token})
		if a.Status != http.StatusOK {
			t.Fatalf("GET /api/openapi.json: %d %s", a.Status, a.Body)
		}
		p, _ := a.JSON(t)["paths"].(map[string]any)
		return p, a.Header.Get("ETag")
	}
	const list = "/api/collections/notes/records"
	_, before := paths(e.super)
	e.mustCreateCollection(t, `{"name":"notes","fields":[{"name":"body","type":"text"}]}`)
	super, after := paths(e.super)
	if super[list] == nil || after == before {
		t.Errorf("after creating notes, the superusers' document has no %s (ETag %s, before %s)", list, after, before)
	}
	if anon, _ := paths(""); anon[list] != nil || anon["/api/collections"] != nil {
		t.Errorf("anonymous callers see %s or the collections routes while every rule is null", list)
	}
	if a := e.do(t, call{Method: "PATCH", Path: "/api/collections/notes", Token: e.super,
		Body: `{"rules":{"list":""}}`}); a.Status != http.StatusOK {
		t.Fatalf("open the list rule: %d %s", a.Status, a.Body)
	}
	anon, _ := paths("")
	if get, _ := anon[list].(map[string]any); get["get"] == nil || get["post"] != nil || anon[list+"/{id}"] != nil {
		t.Errorf("with only the list rule open, anonymous callers see %v and %v; want the list only", anon[list], anon[list+"/{id}"])
	}
}
