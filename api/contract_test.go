package api_test

// The contract check: every answer the API tests receive through send is
// held to the OpenAPI document of the env's live schema, as the caller sees
// it, so the document cannot drift from what the server does. The document
// is generated again whenever the schema changes.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"loam"
	"loam/api"
)

// contract holds the documents of one env's live schema, loaded with
// kin-openapi, and checks answers against them. It is safe for concurrent use.
type contract struct {
	app *loam.App

	mu     sync.Mutex
	docs   [2]*contractDoc // [other callers, superusers]
	schema [2]*loam.Schema // the snapshots they describe
	supers map[string]bool // token -> signed in as a superuser
}

type contractDoc struct {
	router routers.Router
	errors *openapi3.Schema // the Error object
}

// loadedDocs are the documents loaded so far, by their SHA-256: the tests
// of both stores, and many tests, build the same schemas, so most documents
// are loaded once for the whole package.
var loadedDocs sync.Map

// staticPaths are described alike whatever the schema: answers on them are
// checked with the last document even when the schema changed since, so
// that a test creating several collections in a row does not have a
// document generated after each.
var staticPaths = map[string]bool{"/api/health": true, "/api/ready": true, "/api/openapi.json": true,
	"/api/collections": true, "/api/collections/{name}": true}

// driftError is an answer the document does not describe.
type driftError struct {
	method, path string
	status       int
	body         []byte
	err          error
}

func (d *driftError) Error() string {
	return fmt.Sprintf("the OpenAPI document does not describe the answer to %s %s: %d %s\n%v",
		d.method, d.path, d.status, truncate(d.body), d.err)
}

// The docs page is HTML: its body is held to its schema as a string.
// A realtime stream is held to its status and headers, and its body (what
// was read of it) to a string.
func init() {
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
}

func newContract(app *loam.App) *contract { return &contract{app: app, supers: map[string]bool{}} }

// doc returns the document that describes the answer to r: the one of the
// live schema as superusers or others see it.
func (k *contract) doc(r *http.Request, superuser bool) (*contractDoc, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := 0
	if superuser {
		i = 1
	}
	s := k.app.Schema()
	if d := k.docs[i]; d != nil {
		if k.schema[i] == s {
			return d, nil
		}
		if route, _, err := d.router.FindRoute(r); err == nil && staticPaths[route.Path] {
			return d, nil
		}
	}
	b, err := json.Marshal(api.OpenAPI(s, superuser))
	if err != nil {
		return nil, fmt.Errorf("encode the document: %w", err)
	}
	sum := sha256.Sum256(b)
	d, loaded := loadedDocs.Load(sum)
	if !loaded {
		if d, err = loadDoc(b); err != nil {
			return nil, err
		}
		d, _ = loadedDocs.LoadOrStore(sum, d)
	}
	k.docs[i], k.schema[i] = d.(*contractDoc), s
	return k.docs[i], nil
}

// loadDoc loads and validates an encoded document with kin-openapi.
func loadDoc(b []byte) (*contractDoc, error) {
	// Decoded as JSON, not through LoadFromData, which reads it as YAML, slowly.
	doc := &openapi3.T{}
	if err := doc.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("decode the document: %w", err)
	}
	loader := openapi3.NewLoader()
	if err := loader.ResolveRefsIn(doc, nil); err != nil {
		return nil, fmt.Errorf("resolve the document's references: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the document is invalid: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the document: %w", err)
	}
	return &contractDoc{router: router, errors: doc.Components.Schemas["Error"].Value}, nil
}

// superuser reports whether the request's bearer token is a superuser's.
func (k *contract) superuser(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return false
	}
	k.mu.Lock()
	super, known := k.supers[token]
	k.mu.Unlock()
	if known {
		return super
	}
	p, err := k.app.Authenticate(context.Background(), token)
	if err != nil {
		return false // the answer is 401, the same in either document
	}
	k.mu.Lock()
	k.supers[token] = p.IsSuperuser()
	k.mu.Unlock()
	return p.IsSuperuser()
}

// check returns why the document does not describe answer a to r, or nil.
func (k *contract) check(r *http.Request, a *answer) error {
	if r.Method == http.MethodHead {
		return nil // a GET without the body
	}
	if r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		// A CORS preflight is answered before routing, on any path, as the
		// document's description says: 204, no body.
		if a.Status != http.StatusNoContent || len(a.Body) != 0 {
			return fmt.Errorf("a preflight answered %d with %d bytes, want 204 and none", a.Status, len(a.Body))
		}
		return nil
	}
	d, err := k.doc(r, k.superuser(r))
	if err != nil {
		return err
	}
	route, params, err := d.router.FindRoute(r)
	if err != nil {
		// A route the document does not have (for this caller), or a method it
		// does not have there: only an error can answer it.
		if a.Status < 400 {
			return fmt.Errorf("status %d on a route the document does not have: %w", a.Status, err)
		}
		return d.checkError(a)
	}
	if route.Operation.Responses.Status(a.Status) == nil { // ValidateResponse lets 304 pass unchecked
		return fmt.Errorf("the operation %s does not declare status %d", route.Operation.OperationID, a.Status)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if r.URL.Query().Has("fields") && a.Status < 300 {
		// fields leaves members out on purpose, so the body is not held to
		// the record schemas' required members; status and headers still are.
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 a.Status,
		Header:                 a.Header,
		Options:                opts,
	}
	in.SetBodyBytes(a.Body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkError holds an answer to the Error object of the document.
func (d *contractDoc) checkError(a *answer) error {
	if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("an error answer of type %q, not JSON", ct)
	}
	var v any
	if err := json.Unmarshal(a.Body, &v); err != nil {
		return fmt.Errorf("an error answer that is not JSON: %w", err)
	}
	if err := d.errors.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("the error object does not match the Error schema: %w", err)
	}
	return nil
}

// isDrift reports whether err is a contract failure (the answer is there).
func isDrift(err error) bool {
	var d *driftError
	return errors.As(err, &d)
}
