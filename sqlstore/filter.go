package sqlstore

import (
	"math"
	"strconv"
	"strings"
	"time"

	"loam/expr"
)

// The filter compiler turns a bound expr.Cond into a WHERE condition over
// the table aliased "t". Values always go as parameters.
//
// SQL's NULL makes a comparison unknown, and NOT of unknown is unknown, where
// the language says "a != x is true when a has no value". The compiler
// therefore pushes every negation down to the comparisons (De Morgan), and
// writes each comparison so that, where it stands (never under a NOT it did
// not write itself), unknown means false:
//
//	a = x    a = ?                   a != x   (a IS NULL OR a <> ?)
//	a > x    a > ?                   !(a > x) (a IS NULL OR a <= ?)
//	tags ?= x  EXISTS (SELECT 1 FROM <elements> WHERE e = ?)
//
// Paths through single relations read the related field with a scalar
// subquery on the primary key; multi relations, back-relations, list fields
// and @collection become EXISTS over their elements.

// filterCompiler writes one condition into a builder.
type filterCompiler struct {
	d       Dialect
	b       *builder
	aliases int
	root    string // alias of the row the condition is about; "" is "t"
}

// CompileFilter returns the SQL condition of a bound condition over the
// table aliased "t", with its parameters, as ListRecords writes it; for
// tests and tools that show or check the SQL of a filter. The condition
// must come from expr.Bind (a Param left in it is not compiled).
func CompileFilter(d Dialect, c expr.Cond) (sql string, args []any) {
	b := &builder{d: d}
	compileFilter(d, b, c)
	return b.String(), b.args
}

// compileFilter appends the SQL of c to b; "t" is the alias of the table.
func compileFilter(d Dialect, b *builder, c expr.Cond) {
	fc := &filterCompiler{d: d, b: b}
	fc.cond(c, false)
}

func (fc *filterCompiler) alias() string {
	fc.aliases++
	return "a" + strconv.Itoa(fc.aliases)
}

func (fc *filterCompiler) cond(c expr.Cond, neg bool) {
	switch x := c.(type) {
	case expr.Const:
		if bool(x) != neg {
			fc.b.sql("1 = 1")
		} else {
			fc.b.sql("1 = 0")
		}
	case expr.And:
		fc.join([]expr.Cond(x), neg, " AND ", " OR ")
	case expr.Or:
		fc.join([]expr.Cond(x), neg, " OR ", " AND ")
	case *expr.NotCond:
		fc.cond(x.X, !neg)
	case *expr.Cmp:
		fc.cmp(x, neg)
	}
}

func (fc *filterCompiler) join(cs []expr.Cond, neg bool, sep, negSep string) {
	if neg {
		sep = negSep // De Morgan
	}
	fc.b.sql("(")
	for i, c := range cs {
		if i > 0 {
			fc.b.sql(sep)
		}
		fc.cond(c, neg)
	}
	fc.b.sql(")")
}

// pos is where a path's walk stands: on a row (alias set) or on the id of
// a record of a collection, given as an SQL expression, which the record
// must also meet where (the caller's view rule on it) to be reached.
type pos struct {
	row   string // alias of a row of the step's collection
	id    string // or an expression holding the id of such a record
	coll  string // the collection of that record, when id is set
	where expr.Cond
}

// start is the position of the row the condition is about.
func (fc *filterCompiler) start() pos {
	if fc.root == "" {
		return pos{row: "t"}
	}
	return pos{row: fc.root}
}

// column returns the expression that reads field of the record at p, which
// belongs to collection: NULL when p's record is missing or does not meet
// p.where.
func (fc *filterCompiler) column(p pos, collection, field string) string {
	if p.row != "" {
		return p.row + "." + quote(field)
	}
	alias := fc.alias()
	sql := "(SELECT " + alias + "." + quote(field) + " FROM " + quote(collection) + " AS " + alias +
		" WHERE " + alias + ".id = " + p.id
	if p.where != nil {
		sql += " AND " + fc.condSQL(p.where, alias)
	}
	return sql + ")"
}

// condSQL compiles c about the row aliased root into a string. Its
// parameters join the builder's: placeholders are numbered, so the text may
// land anywhere in the statement.
func (fc *filterCompiler) condSQL(c expr.Cond, root string) string {
	sub := &filterCompiler{d: fc.d, b: &builder{d: fc.d, args: fc.b.args}, aliases: fc.aliases, root: root}
	sub.cond(c, false)
	fc.b.args, fc.aliases = sub.b.args, sub.aliases
	return "(" + sub.b.String() + ")"
}

// guard writes " AND <where on alias>" when there is a where.
func (fc *filterCompiler) guard(where expr.Cond, alias string) {
	if where != nil {
		fc.b.sql(fc.condSQL(where, alias), " AND ")
	}
}

// idExpr is the id of the record at p: NULL when it does not meet p.where.
func (fc *filterCompiler) idExpr(p pos) string {
	switch {
	case p.row != "":
		return p.row + ".id"
	case p.where == nil:
		return p.id
	}
	return fc.column(p, p.coll, "id")
}

// walk follows the path's relations from the table's row. For every step
// that may reach several records it opens an EXISTS subquery, which the
// caller closes with closers. It returns the position of the last step.
func (fc *filterCompiler) walk(p *expr.Path) (at pos, closers int) {
	at = fc.start()
	if p.Any {
		a := fc.alias()
		fc.b.sql("EXISTS (SELECT 1 FROM ", quote(p.Root), " AS ", a, " WHERE ")
		fc.guard(p.RootWhere, a)
		at, closers = pos{row: a}, 1
	}
	for i, st := range p.Steps[:len(p.Steps)-1] {
		next := p.Steps[i+1].Collection
		switch st.Via {
		case expr.ViaField:
			at = pos{id: fc.column(at, st.Collection, st.Field), coll: next, where: st.Where}
		case expr.ViaList:
			list := fc.column(at, st.Collection, st.Field)
			from, value := fc.d.ListElements(list, fc.alias())
			fc.b.sql("EXISTS (SELECT 1 FROM ", from, " WHERE ")
			at = pos{id: value, coll: next, where: st.Where}
			closers++
		case expr.ViaBack:
			id := fc.idExpr(at)
			a := fc.alias()
			fc.b.sql("EXISTS (SELECT 1 FROM ", quote(st.Collection), " AS ", a, " WHERE ",
				a, ".", quote(st.Field), " = ", id, " AND ")
			fc.guard(st.Where, a)
			at = pos{row: a}
			closers++
		case expr.ViaBackList:
			id := fc.idExpr(at)
			a := fc.alias()
			fc.b.sql("EXISTS (SELECT 1 FROM ", quote(st.Collection), " AS ", a, " WHERE ",
				fc.d.ListContains(a+"."+quote(st.Field), id), " AND ")
			fc.guard(st.Where, a)
			at = pos{row: a}
			closers++
		}
	}
	return at, closers
}

func (fc *filterCompiler) close(n int) {
	for range n {
		fc.b.sql(")")
	}
}

// scalar returns the SQL of a single-valued path (no multi steps), with its
// modifier applied.
func (fc *filterCompiler) scalar(p *expr.Path) string {
	at := fc.start()
	last := p.Steps[len(p.Steps)-1]
	for i, st := range p.Steps[:len(p.Steps)-1] {
		at = pos{id: fc.column(at, st.Collection, st.Field), coll: p.Steps[i+1].Collection, where: st.Where}
	}
	col := fc.column(at, last.Collection, last.Field)
	switch p.Mod {
	case expr.ModLower:
		return fc.d.Fold(col)
	case expr.ModLength:
		if p.Kind == expr.KindJSON {
			return "(CASE WHEN " + fc.d.JSONIsArray(col) + " THEN " + fc.d.ListLength(col) + " ELSE 0 END)"
		}
		return "COALESCE(" + fc.d.ListLength(col) + ", 0)"
	}
	return col
}

// lengthOfBack counts the records a path ending in a back-relation reaches.
func (fc *filterCompiler) lengthOfBack(p *expr.Path) string {
	at := fc.start()
	n := len(p.Steps)
	for i, st := range p.Steps[:n-2] {
		at = pos{id: fc.column(at, st.Collection, st.Field), coll: p.Steps[i+1].Collection, where: st.Where}
	}
	back, id := p.Steps[n-2], fc.idExpr(at)
	a := fc.alias()
	where := a + "." + quote(back.Field) + " = " + id
	if back.Via == expr.ViaBackList {
		where = fc.d.ListContains(a+"."+quote(back.Field), id)
	}
	if back.Where != nil {
		where += " AND " + fc.condSQL(back.Where, a)
	}
	return "(SELECT count(*) FROM " + quote(back.Collection) + " AS " + a + " WHERE " + where + ")"
}

// operand returns the SQL of a single-valued term, or "" for a Value (the
// caller passes it as a parameter).
func (fc *filterCompiler) operand(t expr.Term) string {
	p, ok := t.(*expr.Path)
	if !ok {
		return ""
	}
	if p.Mod == expr.ModLength && len(p.Steps) >= 2 && (p.Steps[len(p.Steps)-2].Via == expr.ViaBack || p.Steps[len(p.Steps)-2].Via == expr.ViaBackList) {
		return fc.lengthOfBack(p)
	}
	return fc.scalar(p)
}

func multi(t expr.Term) *expr.Path {
	if p, ok := t.(*expr.Path); ok && p.Multi && p.Mod != expr.ModLength {
		return p
	}
	return nil
}

func (fc *filterCompiler) cmp(c *expr.Cmp, neg bool) {
	if p := multi(c.L); p != nil && !c.Op.Any {
		fc.nullList(p, c.Op.Kind == expr.OpNeq != neg)
		return
	}
	m, other, flipped := multi(c.L), c.R, false
	if m == nil {
		m, other, flipped = multi(c.R), c.L, true
	}
	if !c.Op.Any || m == nil { // Bind clears Any on single values; be safe all the same
		fc.scalarCmp(c.Op.Kind, neg, fc.side(c.L), fc.side(c.R), pathOf(c.L, c.R))
		return
	}
	// Any of: EXISTS over the elements of the multi-valued side, comparing
	// each with the other side; negated, NOT EXISTS.
	if neg {
		fc.b.sql("NOT ")
	}
	at, closers := fc.walk(m)
	last := m.Steps[len(m.Steps)-1]
	elem := fc.column(at, last.Collection, last.Field)
	if m.List && last.Field != "id" { // the elements of a list or json field
		a := fc.alias()
		if m.Kind == expr.KindJSON {
			fc.b.sql("EXISTS (SELECT 1 FROM ", fc.d.JSONElements(elem, a), " WHERE ")
			fc.jsonCmp(c.Op.Kind, a, other)
			fc.close(closers + 1)
			return
		}
		from, value := fc.d.ListElements(elem, a)
		fc.b.sql("EXISTS (SELECT 1 FROM ", from, " WHERE ")
		elem = value
		closers++
	}
	if m.Mod == expr.ModLower {
		elem = fc.d.Fold(elem)
	}
	if flipped { // other op element
		fc.scalarCmp(c.Op.Kind, false, fc.side(other), side{sql: elem}, pathOf(other, m))
	} else {
		fc.scalarCmp(c.Op.Kind, false, side{sql: elem}, fc.side(other), m)
	}
	fc.close(closers)
}

// side is one side of a scalar comparison: SQL that reads a value (which
// may be NULL), or a value to send as a parameter (nil for null).
type side struct {
	sql string
	val any
}

// side returns the side a single-valued term is.
func (fc *filterCompiler) side(t expr.Term) side {
	if v, ok := t.(*expr.Value); ok {
		return side{val: v.V}
	}
	return side{sql: fc.operand(t)}
}

// pathOf returns the first of terms that is a path: the one whose type a
// parameter compared with it takes (see param).
func pathOf(terms ...expr.Term) expr.Term {
	for _, t := range terms {
		if _, ok := t.(*expr.Path); ok {
			return t
		}
	}
	return nil
}

// nullList tests whether a list or json field holds nothing.
func (fc *filterCompiler) nullList(p *expr.Path, notEmpty bool) {
	col := fc.scalar(&expr.Path{Root: p.Root, Steps: p.Steps, Kind: p.Kind})
	switch {
	case p.Kind == expr.KindJSON && notEmpty:
		fc.b.sql(col, " IS NOT NULL")
	case p.Kind == expr.KindJSON:
		fc.b.sql(col, " IS NULL")
	case notEmpty:
		fc.b.sql("(", col, " IS NOT NULL AND NOT ", fc.d.ListEmpty(col), ")")
	default:
		fc.b.sql("(", col, " IS NULL OR ", fc.d.ListEmpty(col), ")")
	}
}

var sqlOp = [...]string{expr.OpEq: "=", expr.OpGt: ">", expr.OpGte: ">=", expr.OpLt: "<", expr.OpLte: "<="}
var sqlNegOp = [...]string{expr.OpEq: "<>", expr.OpGt: "<=", expr.OpGte: "<", expr.OpLt: ">=", expr.OpLte: ">"}

// scalarCmp writes "l op r" for one value on each side, negated when neg,
// so that a NULL reads as the language says (see the top of this file).
// A value is on the right, except the text that holds a pattern in
// "value ~ path"; src is the path a numeric parameter is typed by.
func (fc *filterCompiler) scalarCmp(k expr.OpKind, neg bool, l, r side, src expr.Term) {
	if k.Negative() {
		k, neg = k.Positive(), !neg
	}
	b := fc.b
	if r.sql == "" && r.val == nil { // = null, != null (others were folded by Bind)
		if neg {
			b.sql(l.sql, " IS NOT NULL")
		} else {
			b.sql(l.sql, " IS NULL")
		}
		return
	}
	if k == expr.OpLike {
		fc.like(neg, l, r)
		return
	}
	if r.sql == "" { // path op value
		if !neg {
			b.sql(l.sql, " ", sqlOp[k], " ")
			fc.param(r.val, src)
			return
		}
		b.sql("(", l.sql, " IS NULL OR ", l.sql, " ", sqlNegOp[k], " ")
		fc.param(r.val, src)
		b.sql(")")
		return
	}
	switch {
	case !neg && k == expr.OpEq: // two missing values are equal
		b.sql("(", l.sql, " = ", r.sql, " OR (", l.sql, " IS NULL AND ", r.sql, " IS NULL))")
	case neg && k == expr.OpEq:
		b.sql("(", l.sql, " <> ", r.sql, " OR (", l.sql, " IS NULL) <> (", r.sql, " IS NULL))")
	case !neg:
		b.sql(l.sql, " ", sqlOp[k], " ", r.sql)
	default:
		b.sql("(", l.sql, " IS NULL OR ", r.sql, " IS NULL OR ", l.sql, " ", sqlNegOp[k], " ", r.sql, ")")
	}
}

// like writes "l contains r" with both folded, negated when neg. Either
// side may be a value (a string, never both); r's LIKE wildcards are
// escaped so that it matches as itself.
func (fc *filterCompiler) like(neg bool, l, r side) {
	b := fc.b
	if neg {
		b.sql("(")
		for _, s := range []side{l, r} {
			if s.sql != "" {
				b.sql(s.sql, " IS NULL OR ")
			}
		}
		b.sql("NOT ")
	}
	b.sql("(")
	if l.sql != "" {
		b.sql(fc.d.Fold(l.sql))
	} else {
		b.arg(expr.Fold(l.val.(string)))
	}
	b.sql(" LIKE ")
	if r.sql != "" {
		b.sql("'%' || ", likeEscape(fc.d.Fold(r.sql)), " || '%'")
	} else {
		b.arg("%" + escapeLike(expr.Fold(r.val.(string))) + "%")
	}
	b.sql(` ESCAPE '\')`)
	if neg {
		b.sql(")")
	}
}

// param sends a value as a parameter. Numbers compared with an integer
// (an integer column, so an index on it serves them, or a :length count)
// go as integers when whole and within the integer's range, and as floats
// read as floats otherwise: a database that types the parameter as an
// integer from the other side (PostgreSQL) must not round 2.5 to 2, nor
// refuse 2^53 for a 32-bit count.
func (fc *filterCompiler) param(v any, src expr.Term) {
	switch x := v.(type) {
	case time.Time:
		fc.b.arg(fc.d.EncodeTime(x))
		return
	case float64:
		p, ok := src.(*expr.Path)
		limit := 0.0
		switch {
		case ok && p.Mod == expr.ModLength:
			limit = math.MaxInt32 // a list's length is a 32-bit integer on PostgreSQL
		case ok && p.Integer && p.Mod == expr.ModNone:
			limit = 1 << 62
		}
		if limit > 0 {
			if x == math.Trunc(x) && math.Abs(x) < limit {
				fc.b.arg(int64(x))
				return
			}
			fc.b.arg(x)
			fc.b.sql(fc.d.FloatCast())
			return
		}
	}
	fc.b.arg(v)
}

// jsonCmp compares the JSON array element aliased elem with a value: only
// elements of the value's JSON type can match.
func (fc *filterCompiler) jsonCmp(k expr.OpKind, elem string, r expr.Term) {
	v := r.(*expr.Value).V // Bind folded the rest
	var kind expr.Kind
	switch v.(type) {
	case string:
		kind = expr.KindText
	case float64:
		kind = expr.KindNumber
	case bool:
		kind = expr.KindBool
	}
	is, val := fc.d.JSONElement(elem, kind)
	neg := k.Negative()
	k = k.Positive()
	b := fc.b
	if neg {
		b.sql("NOT ")
	}
	b.sql("(CASE WHEN ", is, " THEN ")
	if k == expr.OpLike {
		b.sql(fc.d.Fold(val), " LIKE ").arg("%" + escapeLike(expr.Fold(v.(string))) + "%").sql(` ESCAPE '\'`)
	} else {
		b.sql(val, " ", sqlOp[k], " ").arg(v)
	}
	b.sql(" ELSE 1 = 0 END)")
}

// escapeLike escapes LIKE's wildcards (and the escape character) so that a
// value matches as itself.
func escapeLike(s string) string {
	if !strings.ContainsAny(s, `\%_`) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// likeEscape is escapeLike in SQL, for a value read from a column.
func likeEscape(x string) string {
	return `replace(replace(replace(` + x + `, '\', '\\'), '%', '\%'), '_', '\_')`
}
