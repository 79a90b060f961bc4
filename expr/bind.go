package expr

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Env holds the values of one request that @ names stand for.
type Env struct {
	Now    time.Time
	Method string
	// Auth is the signed-in record's fields (id, collectionName and the
	// rest); nil for anonymous callers, for whom @request.auth.id is "".
	Auth  map[string]any
	Body  map[string]any
	Query map[string]string
}

// Bind replaces every Param of c with its value in env, coerced to the type
// it is compared with, and folds comparisons that no longer read a record.
// A value that cannot be coerced (the query parameter "abc" compared with a
// number) matches nothing: = is false, != is true.
func Bind(c Cond, env *Env) Cond {
	switch x := c.(type) {
	case And:
		out := make(And, 0, len(x))
		for _, y := range x {
			b := Bind(y, env)
			switch b {
			case Const(false):
				return Const(false)
			case Const(true):
				continue
			}
			out = append(out, b)
		}
		switch len(out) {
		case 0:
			return Const(true)
		case 1:
			return out[0]
		}
		return out
	case Or:
		out := make(Or, 0, len(x))
		for _, y := range x {
			b := Bind(y, env)
			switch b {
			case Const(true):
				return Const(true)
			case Const(false):
				continue
			}
			out = append(out, b)
		}
		switch len(out) {
		case 0:
			return Const(false)
		case 1:
			return out[0]
		}
		return out
	case *NotCond:
		b := Bind(x.X, env)
		if k, ok := b.(Const); ok {
			return !k
		}
		return &NotCond{X: b}
	case *Cmp:
		return bindCmp(x, env)
	}
	return c
}

func bindCmp(x *Cmp, env *Env) Cond {
	l, lok := bindTerm(x.L, env, x.Type)
	r, rok := bindTerm(x.R, env, x.Type)
	k := x.Op.Kind
	if !lok || !rok {
		return Const(k.Negative())
	}
	lp, _ := l.(*Path)
	rp, _ := r.(*Path)
	if lp == nil && rp == nil {
		return Const(compare(k, x.Type, l.(*Value).V, r.(*Value).V))
	}
	op := x.Op
	if op.Any && !(lp != nil && lp.Multi && lp.Mod != ModLength) && !(rp != nil && rp.Multi && rp.Mod != ModLength) {
		op.Any = false // ?= on a single value is =
	}
	if rp == nil {
		v := r.(*Value).V
		if x.Type != KindJSON {
			v = normalize(v)
		}
		if v == nil && (op.Any || k.Positive() != OpEq) {
			// Nothing is greater than, contains, or is any of "no value".
			return Const(k.Negative())
		}
		r = &Value{V: v}
	}
	if lp == nil { // value ~ path: the value is the text that may contain the path's
		v := normalize(l.(*Value).V)
		if v == nil {
			return Const(k.Negative())
		}
		l = &Value{V: v}
	}
	return &Cmp{Op: op, L: l, R: r, Type: x.Type}
}

// bindTerm returns a Path as it is and turns a Param into a Value of kind k
// (any JSON scalar when k is KindJSON or unknown). ok is false when the value
// cannot be read as k.
func bindTerm(t Term, env *Env, k Kind) (Term, bool) {
	p, ok := t.(*Param)
	if !ok {
		return t, true
	}
	v := paramValue(p, env)
	switch p.Mod {
	case ModLower:
		s, ok := v.(string)
		if !ok {
			return &Value{V: nil}, v == nil
		}
		v = Fold(s)
	case ModLength:
		v = float64(listLen(v))
	}
	v, ok = coerce(v, k)
	return &Value{V: v}, ok
}

func paramValue(p *Param, env *Env) any {
	switch p.Name {
	case "now":
		return env.Now.UTC().Truncate(time.Millisecond)
	case "todayStart":
		y, m, d := env.Now.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case "todayEnd":
		y, m, d := env.Now.UTC().Date()
		return time.Date(y, m, d, 23, 59, 59, int(999*time.Millisecond), time.UTC)
	case "request.method":
		return env.Method
	}
	name, _ := strings.CutPrefix(p.Name, "request.")
	src, key, _ := strings.Cut(name, ".")
	switch src {
	case "auth":
		if env.Auth == nil {
			if key == "id" {
				return ""
			}
			return nil
		}
		return env.Auth[key]
	case "body":
		return env.Body[key]
	case "query":
		if v, ok := env.Query[key]; ok {
			return v
		}
	}
	return nil
}

func listLen(v any) int {
	switch x := v.(type) {
	case []string:
		return len(x)
	case []any:
		return len(x)
	case json.RawMessage:
		var list []json.RawMessage
		if json.Unmarshal(x, &list) == nil {
			return len(list)
		}
	}
	return 0
}

// coerce reads v as a value of kind k. Strings are read as numbers, bools
// and dates where k asks for them, as query parameters are always strings.
// A string with a NUL character cannot be read: no stored text holds one.
func coerce(v any, k Kind) (any, bool) {
	v = normalize(v)
	if v == nil {
		return nil, true
	}
	if s, ok := v.(string); ok && strings.IndexByte(s, 0) >= 0 {
		return nil, false
	}
	switch k {
	case KindText, KindRelation:
		s, ok := v.(string)
		return s, ok
	case KindNumber:
		switch x := v.(type) {
		case float64:
			return x, true
		case string:
			n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			return n, err == nil
		}
		return nil, false
	case KindBool:
		switch x := v.(type) {
		case bool:
			return x, true
		case string:
			b, err := strconv.ParseBool(x)
			return b, err == nil
		}
		return nil, false
	case KindDate:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Truncate(time.Millisecond), true
		case string:
			return ParseTime(x)
		}
		return nil, false
	}
	switch v.(type) {
	case string, float64, bool, time.Time:
		return v, true
	}
	return nil, false
}

// normalize brings Go values to the evaluator's few types: ints become
// float64, an empty string is no value.
func normalize(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil
		}
		return f
	case time.Time:
		return x.UTC().Truncate(time.Millisecond)
	}
	return v
}

// Fold folds the case of s the way Loam does on every database: each code
// point becomes the lower case of its upper case (Unicode simple mappings),
// so "Σ", "σ" and "ς" all fold to "σ", and "ſ" to "s".
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.Map(foldRune, s)
		}
	}
	return s
}

func foldRune(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }

// ParseTime reads a date as filters write it: 2006-01-02, 2006-01-02
// 15:04:05 (UTC), or RFC 3339 with a T or a space, with fractions and a zone.
// The result is UTC at millisecond precision, the precision Loam stores.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range [...]string{
		time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Millisecond), true
		}
	}
	return time.Time{}, false
}
