package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestContractCatchesDrift: the contract check of the harness refuses
// answers the document does not describe. A fake server stands where Loam
// answers and gives each wrong answer in turn; send must report it as drift,
// and the real server's answer to the same request must pass.
func TestContractCatchesDrift(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text","required":true},
		{"name":"secret","type":"text","hidden":true}],
		"rules":{"list":"","view":"","create":"","update":null,"delete":null}}`)
	post := e.mustCreate(t, "posts", map[string]any{"title": "hello"})
	id := str(post["id"])
	one := "/api/collections/posts/records/" + id
	record := `{"id":"` + id + `","collectionName":"posts","created":"2026-11-25T10:15:30.123Z","updated":"2026-11-25T10:15:30.123Z","title":"hello"`
	jsonType := map[string]string{"Content-Type": "application/json; charset=utf-8"}
	withETag := map[string]string{"Content-Type": "application/json; charset=utf-8", "ETag": `"x"`}

	for _, tc := range []struct {
		name    string
		call    call
		status  int
		headers map[string]string
		body    string
	}{
		{"a member the record does not have", call{Method: "GET", Path: one}, 200, withETag, record + `,"extra":1}`},
		{"a member left out", call{Method: "GET", Path: one}, 200, withETag, `{"id":"` + id + `","collectionName":"posts"}`},
		{"a hidden field shown to anonymous callers", call{Method: "GET", Path: one}, 200, withETag, record + `,"secret":"s"}`},
		{"a value of the wrong type", call{Method: "GET", Path: one}, 200, withETag, strings.Replace(record, `"hello"`, `7`, 1) + `}`},
		{"another collection's name", call{Method: "GET", Path: one}, 200, withETag, strings.Replace(record, `"posts"`, `"pages"`, 1) + `}`},
		{"a date that is not RFC 3339", call{Method: "GET", Path: one}, 200, withETag, strings.Replace(record, `2026-11-25T10:15:30.123Z`, `yesterday`, 1) + `}`},
		{"no ETag", call{Method: "GET", Path: one}, 200, jsonType, record + `}`},
		{"a status the operation does not declare", call{Method: "GET", Path: one}, 202, withETag, record + `}`},
		{"an error code of another status", call{Method: "GET", Path: one}, 404, jsonType,
			`{"status":404,"code":"conflict","message":"x"}`},
		{"an error status that is not the HTTP status", call{Method: "GET", Path: one}, 404, jsonType,
			`{"status":400,"code":"not_found","message":"x"}`},
		{"an error code nobody knows", call{Method: "GET", Path: "/api/nowhere"}, 404, jsonType,
			`{"status":404,"code":"gone","message":"x"}`},
		{"an error without a message", call{Method: "GET", Path: "/api/nowhere"}, 404, jsonType,
			`{"status":404,"code":"not_found"}`},
		{"a field error without its code", call{Method: "POST", Path: "/api/collections/posts/records", Body: `{}`}, 400, jsonType,
			`{"status":400,"code":"validation_failed","message":"x","errors":{"title":{"message":"is required"}}}`},
		{"success on a route the document does not have", call{Method: "GET", Path: "/api/nowhere"}, 200, jsonType, `{}`},
		{"a route superusers only may use, answered to anonymous callers", call{Method: "DELETE", Path: one}, 204, nil, ``},
		{"a list without its totals", call{Method: "GET", Path: "/api/collections/posts/records"}, 200, withETag,
			`{"items":[],"page":1,"perPage":30}`},
		{"304 where the operation declares none", call{Method: "GET", Path: "/api/health"}, 304, nil, ``},
		{"text where JSON is declared", call{Method: "GET", Path: "/api/health"}, 200, map[string]string{"Content-Type": "text/plain"}, `ok`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer fake.Close()
			faked := *e
			faked.base = fake.URL
			if _, err := faked.send(tc.call); !isDrift(err) {
				t.Errorf("%s %s answered %d %s: the check let it pass (err %v)", tc.call.Method, tc.call.Path, tc.status, tc.body, err)
			}
			if _, err := e.send(tc.call); err != nil {
				t.Errorf("the real server's answer: %v", err)
			}
		})
	}
}
