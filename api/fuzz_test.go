package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"loam"
)

func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{
		"", "page=1", "page=0", "page=-1", "page=1000000", "page=1000001", "page=abc", "page=+2", "page= 2",
		"perPage=30", "perPage=0", "perPage=500", "perPage=501", "perPage=99999999999999999999999", "perPage=-5",
		"perPage=1e3", "perPage=", "page=2&page=3", "skipTotal=1", "skipTotal=true", "skipTotal=yes", "skipTotal=",
		"sort=-created,title", "sort=+title", "sort=-", "sort=,", "sort=a,,b", "sort=%20-created%20", "sort=--x",
		"sort=a,b,c,d,e,f,g,h", "sort=a,b,c,d,e,f,g,h,i", "sort=" + strings.Repeat("x", 64), "sort=title;DROP TABLE x",
		"filter=x", "expand=a", "fields=a", "cursor=x", "cursor=", "cursor=x&page=2", "sort=author.name,-@random", "%zz", "page=%", "a=1&&b=2;c=3", "sort=%E2%80%A8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/api/collections/posts/records", nil)
		r.URL.RawQuery = raw
		q, err := parseListQuery(r)
		if err != nil {
			if c := loam.CodeOf(err); c != loam.CodeInvalidQuery && c != loam.CodeInvalidSort && c != loam.CodeInvalidFilter {
				t.Fatalf("%q: error code %q", raw, c)
			}
			return
		}
		if q.PerPage < 1 || q.PerPage > MaxPerPage {
			t.Fatalf("%q: perPage %d", raw, q.PerPage)
		}
		if q.Page < 1 || q.Page > 1_000_000 {
			t.Fatalf("%q: page %d", raw, q.Page)
		}
		if len(q.Sort) > 8 {
			t.Fatalf("%q: %d sort keys", raw, len(q.Sort))
		}
		for _, k := range q.Sort {
			if k.Field == "" || len(k.Field) > 8*loam.MaxNameLength {
				t.Fatalf("%q: sort field %q", raw, k.Field)
			}
		}
	})
}

func FuzzReadObject(f *testing.F) {
	for _, tc := range []struct {
		body, ct string
		limit    uint16
	}{
		{`{}`, "application/json", 0},
		{`{"title":"x","n":1}`, "application/json; charset=utf-8", 0},
		{` {"a":[1,2]} `, "application/json;charset=UTF-8", 0},
		{`{"a":1}`, "application/json; charset=latin1", 0},
		{`{"a":1}`, "text/plain", 0},
		{`{"a":1}`, "", 0},
		{`{"a":1}`, "application/json; foo", 0},
		{`{"a":1}`, "APPLICATION/JSON", 0},
		{`{"a":1}`, "application/json", 3},
		{`[1,2]`, "application/json", 0},
		{`null`, "application/json", 0},
		{`"x"`, "application/json", 0},
		{`{"a":1}{"b":2}`, "application/json", 0},
		{`{"a":1,"a":2}`, "application/json", 0},
		{"{\"a\":\"\xff\"}", "application/json", 0},
		{"\xef\xbb\xbf{}", "application/json", 0},
		{`{"a":"\ud800"}`, "application/json", 0},
		{`{"a":1`, "application/json", 0},
		{``, "application/json", 0},
		{`{"a":{"b":{"c":[[[[[]]]]]}}}`, "application/json", 0},
	} {
		f.Add([]byte(tc.body), tc.ct, tc.limit)
	}
	f.Fuzz(func(t *testing.T, body []byte, ct string, limit uint16) {
		r := httptest.NewRequest(http.MethodPost, "/api/collections/posts/records", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		if limit > 0 {
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, int64(limit))
		}
		m, err := readObject(r)
		if err != nil {
			switch c := loam.CodeOf(err); c {
			case loam.CodeInvalidJSON, loam.CodeUnsupportedMediaType, loam.CodeBodyTooLarge:
			default:
				t.Fatalf("error code %q: %v", c, err)
			}
			if m != nil {
				t.Fatalf("an error with keys %v", m)
			}
			return
		}
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			t.Fatalf("accepted content type %q", ct)
		}
		if limit > 0 && len(body) > int(limit) {
			t.Fatalf("accepted %d bytes over a limit of %d", len(body), limit)
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8 JSON: %q", body)
		}
		if tb := bytes.TrimSpace(body); len(tb) == 0 || tb[0] != '{' {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
		if m == nil {
			t.Fatalf("accepted %q without a map", body)
		}
		for k, v := range m {
			if !utf8.ValidString(k) || !json.Valid(v) {
				t.Fatalf("key %q value %q", k, v)
			}
		}
	})
}
