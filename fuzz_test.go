package loam

import (
	"bytes"
	"encoding/json"
	"loam/expr"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func fptr(x float64) *float64 { return &x }

// fuzzFields are fields of every type with the options that change how
// values are checked. They belong to an auth collection so that a password
// field is allowed, and are validated once so patterns are compiled.
func fuzzFields(tb testing.TB) []Field {
	tb.Helper()
	c := &Collection{Name: "fuzz", Type: CollectionAuth, Fields: []Field{
		{Name: "text", Type: TypeText},
		{Name: "text_bounded", Type: TypeText, Min: fptr(2), Max: fptr(5)},
		{Name: "text_pattern", Type: TypeText, Max: fptr(12), Pattern: `^[a-z]+(-[a-z]+)*$`},
		{Name: "num", Type: TypeNumber},
		{Name: "num_bounded", Type: TypeNumber, Min: fptr(-1.5), Max: fptr(1e6)},
		{Name: "int", Type: TypeNumber, Integer: true},
		{Name: "int_bounded", Type: TypeNumber, Integer: true, Min: fptr(-100), Max: fptr(100)},
		{Name: "flag", Type: TypeBool},
		{Name: "mail", Type: TypeEmail},
		{Name: "link", Type: TypeURL},
		{Name: "day", Type: TypeDate},
		{Name: "stamp", Type: TypeAutodate, OnCreate: true},
		{Name: "choice", Type: TypeSelect, Values: []string{"a", "b", "ç", "long value"}},
		{Name: "choices", Type: TypeSelect, Multiple: true, Values: []string{"a", "b", "c"}, Max: fptr(2)},
		{Name: "owner", Type: TypeRelation, Collection: "fuzz"},
		{Name: "owners", Type: TypeRelation, Collection: "fuzz", Multiple: true, Min: fptr(1), Max: fptr(3)},
		{Name: "doc", Type: TypeJSON},
		{Name: "secret", Type: TypePassword},
	}}
	if err := c.Validate(); err != nil {
		tb.Fatalf("fuzz fields: %v", err)
	}
	var out []Field
	for _, f := range c.Fields {
		if !f.System {
			out = append(out, f)
		}
	}
	return out
}

func FuzzNormalize(f *testing.F) {
	fields := fuzzFields(f)
	id := NewID()
	seeds := []string{
		``, `null`, ` null `, `""`, `"x"`, `"hello"`, `"héllo"`, `"\u0000"`, `"a\u0000b"`, `"\ud800"`, "\"\xff\"",
		`"abc-def"`, `"ABC"`, `"abcdefghijklmnop"`, `"ab"`, `"a"`, `"ééééé"`, `"éééééé"`,
		`0`, `-0`, `1`, `-1.5`, `-1.6`, `1e6`, `1e6001`, `-1e6001`, `1e-400`, `9007199254740991`, `9007199254740992`,
		`-9007199254740993`, `1.0`, `1.5`, `100`, `101`, `-Inf`, `-Infinity`, `0x1p4`, `-0x1p-2`, `1_000`, `+1`, `.5`, `01`,
		`true`, `false`, `True`, ` true`, "\u00a0true",
		`"a@example.com"`, `"A <a@example.com>"`, `"a@b"`, `"@"`,
		`"https://example.com/x?y=1"`, `"http://"`, `"javascript:alert(1)"`, `"ftp://example.com"`,
		`"2026-11-25T10:15:30.123Z"`, `"2026-11-25T10:15:30.123456789+02:00"`, `"0000-01-01T00:00:00Z"`,
		`"9999-12-31T23:59:59.999999999-23:59"`, `"9999-12-31T23:59:59-01:00"`, `"0001-01-01T00:00:00+01:00"`,
		`"2026-02-30T00:00:00Z"`, `"2026-11-25"`,
		`"b"`, `"ç"`, `"long value"`, `["a","b"]`, `["a","a","b"]`, `["a","b","c"]`, `[]`, `["a",null]`, `[1]`, `["z"]`,
		`"` + id + `"`, `["` + id + `"]`, `["` + id + `","` + id + `"]`, `"not-an-id"`,
		`{}`, `{"a":[1,2,{"b":null}]}`, `{"a":"\u0000"}`, `{"a": 1 }`, `[1, 2]`, `"\u2028"`, `{"a":1}{`,
	}
	for i := range fields {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		field := &fields[int(which)%len(fields)]
		v, ferr := field.Normalize(json.RawMessage(raw))
		if ferr != nil {
			if v != nil {
				t.Fatalf("%s: an error (%v) with a value %#v", field.Name, ferr, v)
			}
			if ferr.Code == "" || ferr.Message == "" {
				t.Fatalf("%s: field error without code or message: %+v", field.Name, ferr)
			}
			return
		}
		if v == nil {
			return
		}
		checkCanonical(t, field, v)
		// What Normalize returns must survive the trip through JSON (the API
		// renders it, a client may send it back): same value, no error.
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: accepted %q as %#v, which cannot be written as JSON: %v", field.Name, raw, v, err)
		}
		if j, ok := v.(json.RawMessage); ok {
			enc = j // Marshal would HTML-escape it: the same value, other bytes
		}
		if field.Type == TypePassword {
			return
		}
		again, ferr := field.Normalize(enc)
		if ferr != nil {
			t.Fatalf("%s: accepted %q as %#v, but refuses its JSON %s: %v", field.Name, raw, v, enc, ferr)
		}
		if !reflect.DeepEqual(again, v) {
			if t1, ok := v.(time.Time); !ok || !t1.Equal(again.(time.Time)) {
				t.Fatalf("%s: %q -> %#v -> %s -> %#v", field.Name, raw, v, enc, again)
			}
		}
	})
}

// checkCanonical checks that v has the Go type Record documents for the
// field, and that the field's constraints hold.
func checkCanonical(t *testing.T, f *Field, v any) {
	t.Helper()
	str := func() string {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s (%s): got %T, want string", f.Name, f.Type, v)
		}
		if s == "" || strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			t.Fatalf("%s: %q is empty, holds NUL or is not UTF-8", f.Name, s)
		}
		return s
	}
	runes := func(s string) float64 { return float64(utf8.RuneCountInString(s)) }
	switch f.Type {
	case TypeText:
		s := str()
		if f.Max != nil && runes(s) > *f.Max || f.Min != nil && runes(s) < *f.Min {
			t.Fatalf("%s: %q has %v runes, outside [%v, %v]", f.Name, s, runes(s), f.Min, f.Max)
		}
		if f.Pattern != "" && !regexp.MustCompile(f.Pattern).MatchString(s) {
			t.Fatalf("%s: %q does not match %s", f.Name, s, f.Pattern)
		}
	case TypeEmail:
		if s := str(); !strings.Contains(s, "@") || len(s) > 254*4 {
			t.Fatalf("%s: %q is no email address", f.Name, s)
		}
	case TypeURL:
		if s := str(); !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			t.Fatalf("%s: %q is no http(s) URL", f.Name, s)
		}
	case TypePassword:
		if s := str(); runes(s) > 256 {
			t.Fatalf("%s: a %v-rune password", f.Name, runes(s))
		}
	case TypeNumber:
		var x float64
		if f.Integer {
			n, ok := v.(int64)
			if !ok {
				t.Fatalf("%s: got %T, want int64", f.Name, v)
			}
			if n > maxSafeInteger || n < -maxSafeInteger {
				t.Fatalf("%s: %d is beyond 2^53-1", f.Name, n)
			}
			x = float64(n)
		} else {
			var ok bool
			if x, ok = v.(float64); !ok {
				t.Fatalf("%s: got %T, want float64", f.Name, v)
			}
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("%s: accepted %v, which JSON cannot hold", f.Name, x) // e.g. from the non-JSON input -Inf
		}
		if f.Min != nil && x < *f.Min || f.Max != nil && x > *f.Max {
			t.Fatalf("%s: %v outside [%v, %v]", f.Name, x, f.Min, f.Max)
		}
	case TypeBool:
		if _, ok := v.(bool); !ok {
			t.Fatalf("%s: got %T, want bool", f.Name, v)
		}
	case TypeDate:
		d, ok := v.(time.Time)
		if !ok {
			t.Fatalf("%s: got %T, want time.Time", f.Name, v)
		}
		if d.Location() != time.UTC || d.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("%s: %v is not UTC and millisecond-precise", f.Name, d)
		}
		if d.Year() < 1 || d.Year() > 9999 {
			t.Fatalf("%s: accepted a date in UTC year %d (%v): RFC 3339 cannot write it and it does not read back", f.Name, d.Year(), d)
		}
	case TypeAutodate:
		t.Fatalf("%s: an autodate accepted a client value %#v", f.Name, v)
	case TypeSelect, TypeRelation:
		check := func(s string) {
			if f.Type == TypeSelect {
				for _, want := range f.Values {
					if s == want {
						return
					}
				}
				t.Fatalf("%s: %q is not one of %q", f.Name, s, f.Values)
			}
			if !ValidID(s) {
				t.Fatalf("%s: %q is not a record id", f.Name, s)
			}
		}
		if !f.Multiple {
			check(str())
			return
		}
		list, ok := v.([]string)
		if !ok {
			t.Fatalf("%s: got %T, want []string", f.Name, v)
		}
		if len(list) == 0 {
			t.Fatalf("%s: an empty list must be nil", f.Name)
		}
		seen := map[string]bool{}
		for _, s := range list {
			check(s)
			if seen[s] {
				t.Fatalf("%s: %q twice in %q", f.Name, s, list)
			}
			seen[s] = true
		}
		n := float64(len(list))
		if f.Min != nil && n < *f.Min || f.Max != nil && n > *f.Max {
			t.Fatalf("%s: %d values outside [%v, %v]", f.Name, len(list), f.Min, f.Max)
		}
	case TypeJSON:
		j, ok := v.(json.RawMessage)
		if !ok {
			t.Fatalf("%s: got %T, want json.RawMessage", f.Name, v)
		}
		var b bytes.Buffer
		if !json.Valid(j) || json.Compact(&b, j) != nil || !bytes.Equal(b.Bytes(), j) {
			t.Fatalf("%s: %s is not compact, valid JSON", f.Name, j)
		}
		if bytes.Contains(j, []byte(`\u0000`)) {
			t.Fatalf("%s: %s holds NUL", f.Name, j)
		}
	default:
		t.Fatalf("%s: unexpected type %s", f.Name, f.Type)
	}
}

var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func FuzzValidateCollection(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `"posts"`, `{"name":"posts"}`, `{"name":"posts","fields":null}`,
		`{"name":"posts","type":"base","fields":[{"name":"title","type":"text","required":true,"max":200},{"name":"views","type":"number","integer":true}],"rules":{"list":"","view":"","create":null,"update":null,"delete":null}}`,
		`{"name":"users","type":"auth","fields":[{"name":"nick","type":"text","unique":true}],"auth":{"identityFields":["email","nick"],"minPasswordLength":12,"tokenTTL":60}}`,
		`{"name":"users","type":"auth","fields":[{"name":"password","type":"password"}]}`,
		`{"name":"t","fields":[{"name":"tags","type":"select","multiple":true,"values":["a","b"],"min":1,"max":2}],"indexes":[{"name":"t_tags","fields":["tags"]}]}`,
		`{"name":"t","fields":[{"name":"s","type":"select","values":["a","b"],"default":"\"a\""}],"indexes":[{"name":"t_s","fields":["s","created"],"unique":true}]}`,
		`{"name":"t","fields":[{"name":"s","type":"select","values":["a","b"],"default":"c"}]}`,
		`{"name":"t","fields":[{"name":"n","type":"number","default":5,"min":1,"max":10}]}`,
		`{"name":"t","fields":[{"name":"n","type":"number","default":50,"min":1,"max":10}]}`,
		`{"name":"t","fields":[{"name":"p","type":"text","pattern":"^[a-z]+$","default":"abc"}]}`,
		`{"name":"t","fields":[{"name":"p","type":"text","pattern":"(","min":-1}]}`,
		`{"name":"t","fields":[{"name":"d","type":"date","default":"2026-11-25T10:15:30Z"},{"name":"j","type":"json","default":{"a":1}}]}`,
		`{"name":"t","fields":[{"name":"r","type":"relation","collection":"t","onDelete":"cascade","multiple":true,"max":3}]}`,
		`{"name":"t","fields":[{"name":"r","type":"relation","collection":"other","onDelete":"explode"}]}`,
		`{"name":"t","fields":[{"name":"c","type":"autodate","onCreate":true,"onUpdate":true}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text"},{"name":"A","type":"text"}]}`,
		`{"name":"t","fields":[{"id":"x","name":"a","type":"text"},{"id":"x","name":"b","type":"text"}]}`,
		`{"name":"t","fields":[{"name":"select","type":"text"},{"name":"_x","type":"text"},{"name":"id","type":"text"}]}`,
		`{"name":"t; DROP TABLE users","fields":[{"name":"a\"b","type":"text"}]}`,
		`{"name":"collections"}`, `{"name":"_superusers","system":true}`, `{"name":"_x"}`,
		`{"name":"` + strings.Repeat("a", 63) + `"}`, `{"name":"` + strings.Repeat("a", 64) + `"}`, `{"name":"é"}`,
		`{"name":"t","unknown":1}`, `{"name":"t"} {"name":"u"}`, `{"name":"t","rules":{"list":"id = 1"}}`,
		`{"name":"t","fields":[{"name":"e","type":"email","min":1}]}`, `{"name":"t","fields":[{"name":"x","type":"nope"}]}`,
		`{"name":"t","indexes":[{"name":"i","fields":[]},{"name":"I","fields":["nope"]}]}`,
		`{"name":"t","fields":[{"name":"j","type":"json"},{"name":"m","type":"select","multiple":true,"values":["a"]}],"indexes":[{"name":"_i","fields":["j","m"]}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","onDelete":"cascade"}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","values":["x"]}]}`,
		`{"name":"t","fields":[{"name":"a","type":"number","pattern":"x"}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","integer":true}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","multiple":true}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","collection":"t"}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","onCreate":true}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","min":5,"max":2}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","min":1.5}]}`,
		`{"name":"t","fields":[{"name":"a","type":"text","max":-1}]}`,
		`{"name":"t","fields":[{"name":"a","type":"number","min":5,"max":2}]}`,
		`{"name":"t","fields":[{"name":"a","type":"select"}]}`,
		`{"name":"t","fields":[{"name":"a","type":"select","values":["x","x"]}]}`,
		`{"name":"t","fields":[{"name":"a","type":"select","values":[""]}]}`,
		`{"name":"t","fields":[{"name":"a","type":"select","values":["x"],"min":-1}]}`,
		`{"name":"t","fields":[{"name":"a","type":"relation"}]}`,
		`{"name":"t","fields":[{"name":"a","type":"relation","collection":"t","max":0.5}]}`,
		`{"name":"t","fields":[{"name":"a","type":"relation","collection":"t","default":"\"x\""}]}`,
		`{"name":"t","fields":[{"name":"a","type":"autodate"}]}`,
		`{"name":"t","fields":[{"name":"a","type":"autodate","onUpdate":true,"required":true}]}`,
		`{"name":"t","fields":[{"name":"a","type":"password"}]}`,
		`{"name":"t","type":"auth","fields":[{"name":"a","type":"password","unique":true}]}`,
		`{"name":"t","type":"auth","fields":[{"name":"a","type":"password","default":"\"x\""}]}`,
		`{"name":"t","fields":[{"name":"a","type":"json","unique":true}]}`,
		`{"name":"t","fields":[{"name":"a","type":"select","values":["x"],"multiple":true,"unique":true}]}`,
		`{"name":"t","fields":[{"name":"a","type":"bool","default":true},{"name":"b","type":"url","default":"https://x.example"}]}`,
		`{"name":"t","fields":[{"name":"a","type":"date","default":"9999-12-31T23:59:59-01:00"}]}`,
		`{"name":"t","type":"view"}`, `{"name":"t","fields":[{"name":"","type":"text"},{"name":"9a","type":"text"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := DecodeCollection(raw)
		if err != nil {
			if code := CodeOf(err); c != nil || (code != CodeInvalidSchema && code != CodeInvalidJSON) {
				t.Fatalf("DecodeCollection: %v (code %q) with %v", err, code, c)
			}
			return
		}
		if err := c.Validate(); err != nil {
			if CodeOf(err) != CodeInvalidSchema {
				t.Fatalf("Validate: code %q, want %s: %v", CodeOf(err), CodeInvalidSchema, err)
			}
			return
		}
		checkAccepted(t, c)
		// An accepted collection is stored as JSON and read back: it must
		// still decode and validate, to the same definition.
		enc, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal an accepted collection: %v", err)
		}
		back, err := DecodeCollection(enc)
		if err != nil {
			t.Fatalf("an accepted collection does not decode again: %v\n%s", err, enc)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("an accepted collection does not validate again: %v\n%s", err, enc)
		}
		again, _ := json.Marshal(back)
		if !bytes.Equal(enc, again) {
			t.Fatalf("validating twice changed the collection:\n%s\n%s", enc, again)
		}
	})
}

func checkAccepted(t *testing.T, c *Collection) {
	t.Helper()
	if !nameRe.MatchString(c.Name) {
		t.Fatalf("accepted collection name %q", c.Name)
	}
	if c.Type != CollectionBase && c.Type != CollectionAuth {
		t.Fatalf("accepted collection type %q", c.Type)
	}
	ids, names := map[string]bool{}, map[string]bool{}
	for _, f := range c.Fields {
		if !nameRe.MatchString(f.Name) {
			t.Fatalf("accepted field name %q", f.Name)
		}
		if reservedFieldNames[strings.ToLower(f.Name)] {
			t.Fatalf("accepted reserved field name %q", f.Name)
		}
		if names[strings.ToLower(f.Name)] {
			t.Fatalf("accepted field name %q twice", f.Name)
		}
		names[strings.ToLower(f.Name)] = true
		if f.ID == "" || ids[f.ID] {
			t.Fatalf("field %q: id %q empty or repeated", f.Name, f.ID)
		}
		ids[f.ID] = true
		if f.Type == TypeRelation && (!nameRe.MatchString(f.Collection) || f.OnDelete == "") {
			t.Fatalf("relation %q: target %q, onDelete %q", f.Name, f.Collection, f.OnDelete)
		}
		if len(f.Default) > 0 {
			if _, ferr := f.Normalize(f.Default); ferr != nil {
				t.Fatalf("field %q: accepted default %s that it refuses as a value: %v", f.Name, f.Default, ferr)
			}
		}
	}
	for _, ix := range c.Indexes {
		if !nameRe.MatchString(ix.Name) {
			t.Fatalf("accepted index name %q", ix.Name)
		}
		if len(ix.Fields) == 0 {
			t.Fatalf("index %q without fields", ix.Name)
		}
		for _, n := range ix.Fields {
			if n != ColID && n != ColCreated && n != ColUpdated && c.Field(n) == nil {
				t.Fatalf("index %q on unknown field %q", ix.Name, n)
			}
		}
	}
	for _, r := range []*string{c.Rules.List, c.Rules.View, c.Rules.Create, c.Rules.Update, c.Rules.Delete} {
		if r == nil || strings.TrimSpace(*r) == "" {
			continue
		}
		if _, err := expr.Parse(*r); err != nil {
			t.Fatalf("accepted rule %q, which does not parse: %v", *r, err)
		}
	}
}
