package loam

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"

	"loam/expr"
)

// Field describes a field to the filter language (it implements
// expr.Schema): id is text, created and updated are dates.
func (s *Schema) Field(collection, name string) (expr.Field, bool) {
	c := s.Collection(collection)
	if c == nil {
		return expr.Field{}, false
	}
	switch name {
	case ColID:
		return expr.Field{Kind: expr.KindText}, true
	case ColCreated, ColUpdated:
		return expr.Field{Kind: expr.KindDate}, true
	}
	f := c.Field(name)
	if f == nil {
		return expr.Field{}, false
	}
	out := expr.Field{Multiple: f.Multiple, Hidden: f.Hidden}
	switch f.Type {
	case TypeNumber:
		out.Kind, out.Integer = expr.KindNumber, f.Integer
	case TypeBool:
		out.Kind = expr.KindBool
	case TypeDate, TypeAutodate:
		out.Kind = expr.KindDate
	case TypeJSON:
		out.Kind = expr.KindJSON
	case TypeRelation:
		out.Kind, out.Target = expr.KindRelation, f.Collection
	case TypePassword:
		out.Kind = expr.KindSecret
	default:
		out.Kind = expr.KindText
	}
	return out, true
}

// filterError turns an expr error into the API's error for param.
func filterError(code, param string, err error) error {
	var ee *expr.Error
	if errors.As(err, &ee) {
		return Errorf(code, "%s: %s", param, ee.Error())
	}
	return Errorf(code, "%s: %v", param, err)
}

// Condition parses and checks a filter for collection as who may write it,
// and binds it to env (nil: the current time, no request values). It
// returns nil for an empty filter.
func (a *App) Condition(who *Principal, s *Schema, collection, filter string, env *expr.Env) (expr.Cond, error) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	cond, err := expr.ParseCheck(filter, callerSchema(who, s), collection, expr.Options{Hidden: who.IsSuperuser(), Request: true})
	if err != nil {
		return nil, filterError(CodeInvalidFilter, "filter", err)
	}
	if env == nil {
		env = requestEnv(who, "GET", nil)
	}
	bound := expr.Bind(cond, env)
	a.guard(who).cond(bound)
	return bound, nil
}

// pathGuard sets, on the relation steps of paths a caller wrote (filters,
// sort keys, groupBy keys), the view rule of the records each step reaches,
// so that nothing is read through a relation that the caller may not view:
// a related record the rule hides reads as missing. Superusers need none.
type pathGuard struct {
	a     *App
	who   *Principal
	rules map[string]expr.Cond
}

func (a *App) guard(who *Principal) *pathGuard {
	return &pathGuard{a: a, who: who, rules: map[string]expr.Cond{}}
}

// rule returns the view condition of the records of collection for the
// caller: nil when every record may be seen, false when none may.
func (g *pathGuard) rule(collection string) expr.Cond {
	if cond, ok := g.rules[collection]; ok {
		return cond
	}
	var cond expr.Cond
	if c := g.a.Schema().Collection(collection); c == nil || g.who.inScope(collection, ScopeView) != nil {
		cond = expr.Const(false) // a path into a collection the caller's key may not view matches nothing
	} else if rc, err := g.a.ruleCond(g.who, c, c.Rules.View, "", envOf(g.who, "GET", nil)); err != nil {
		cond = expr.Const(false)
	} else if rc != nil {
		cond = rc
	}
	g.rules[collection] = cond
	return cond
}

func (g *pathGuard) cond(c expr.Cond) {
	if g.who.IsSuperuser() && g.who.APIKey == nil {
		return
	}
	switch x := c.(type) {
	case expr.And:
		for _, y := range x {
			g.cond(y)
		}
	case expr.Or:
		for _, y := range x {
			g.cond(y)
		}
	case *expr.NotCond:
		g.cond(x.X)
	case *expr.Cmp:
		for _, t := range []expr.Term{x.L, x.R} {
			if p, ok := t.(*expr.Path); ok {
				g.path(p)
			}
		}
	}
}

func (g *pathGuard) path(p *expr.Path) {
	if g.who.IsSuperuser() && g.who.APIKey == nil {
		return
	}
	if p.Any {
		p.RootWhere = g.rule(p.Root)
	}
	for i := range p.Steps[:len(p.Steps)-1] {
		p.Steps[i].Where = g.rule(p.Steps[i].Target)
	}
}

// env returns the values @request.auth.* and @now stand for.
func (p *Principal) env(now time.Time) *expr.Env {
	env := &expr.Env{Now: now}
	if p != nil && p.Record != nil {
		env.Auth = map[string]any{ColID: p.Record.ID, "collectionName": p.Collection}
		for k, v := range p.Record.Data {
			env.Auth[k] = v
		}
		delete(env.Auth, "password")
	}
	return env
}

// recordQuery checks a client's list query against c and returns what the
// store runs.
func (a *App) recordQuery(who *Principal, c *Collection, q ListQuery, env *expr.Env) (RecordQuery, error) {
	s := a.Schema()
	rq := RecordQuery{Page: q.Page, PerPage: q.PerPage, SkipTotal: q.SkipTotal}
	where, err := a.Condition(who, s, c.Name, q.Filter, env)
	if err != nil {
		return rq, err
	}
	rq.Where = where
	opt := expr.Options{Hidden: who.IsSuperuser()}
	for _, k := range q.Sort {
		if k.Field == "@random" {
			rq.Sort = append(rq.Sort, SortKey{Field: k.Field, Random: true})
			continue
		}
		p, err := expr.ResolvePath(callerSchema(who, s), c.Name, strings.Split(k.Field, "."), opt)
		if err != nil {
			return rq, filterError(CodeInvalidSort, "sort", err)
		}
		if p.Multi || p.Kind == expr.KindJSON {
			return rq, Errorf(CodeInvalidSort, "cannot sort by %s: it may hold several values", k.Field)
		}
		a.guard(who).path(p)
		k.Path = p
		rq.Sort = append(rq.Sort, k)
	}
	if q.Cursor != "" {
		for _, k := range rq.Sort {
			if k.Random {
				return rq, Errorf(CodeInvalidQuery, "cursor cannot be combined with @random")
			}
		}
		after, err := decodeCursor(q.Cursor, rq.Sort)
		if err != nil {
			return rq, err
		}
		rq.After = after
	}
	return rq, nil
}

// sortSignature names an order, so a cursor made for one order is refused
// by another.
func sortSignature(keys []SortKey) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if k.Desc {
			b.WriteByte('-')
		}
		b.WriteString(k.Field)
	}
	return b.String()
}

type cursorJSON struct {
	Sort   string `json:"s"`
	Values []any  `json:"v"`
	ID     string `json:"i"`
}

// encodeCursor writes a position as an opaque token: base64url of JSON
// naming the order, the sort values (times in RFC 3339) and the id.
func encodeCursor(keys []SortKey, c *Cursor) string {
	if c == nil {
		return ""
	}
	vals := make([]any, len(c.Values))
	for i, v := range c.Values {
		if t, ok := v.(time.Time); ok {
			v = string(AppendTime(nil, t))
		}
		vals[i] = v
	}
	b, _ := json.Marshal(cursorJSON{Sort: sortSignature(keys), Values: vals, ID: c.ID}) // plain values always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a token of encodeCursor for the order keys, bringing
// each value to the type its key's column holds.
func decodeCursor(token string, keys []SortKey) (*Cursor, error) {
	bad := Errorf(CodeInvalidQuery, "cursor is not a cursor of this list: use the nextCursor of a page with the same sort")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(token) > 4096 {
		return nil, bad
	}
	var cj cursorJSON
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&cj); err != nil || cj.Sort != sortSignature(keys) || len(cj.Values) != len(keys) || !ValidID(cj.ID) {
		return nil, bad
	}
	c := &Cursor{ID: cj.ID, Values: make([]any, len(keys))}
	for i, k := range keys {
		v := cj.Values[i]
		if v == nil {
			continue
		}
		var ok bool
		switch k.Path.Kind {
		case expr.KindNumber:
			var n json.Number
			if n, ok = v.(json.Number); ok {
				if k.Path.Integer {
					var x int64
					x, err = n.Int64()
					ok, v = err == nil, x
				} else {
					var x float64
					x, err = n.Float64()
					ok, v = err == nil && !math.IsInf(x, 0), x
				}
			}
		case expr.KindBool:
			_, ok = v.(bool)
		case expr.KindDate:
			var s string
			if s, ok = v.(string); ok {
				v, err = ParseTime(s)
				ok = err == nil
			}
		default:
			_, ok = v.(string)
		}
		if !ok {
			return nil, bad
		}
		c.Values[i] = v
	}
	return c, nil
}
