package expr

import (
	"fmt"
	"strings"
	"time"
)

// MaxJoins is the most relation steps (forward, back, or @collection) one
// expression may take, summed over its paths.
const MaxJoins = 12

// Kind is the kind of value a field holds, as the language sees it.
type Kind uint8

// Field kinds.
const (
	KindText Kind = iota + 1
	KindNumber
	KindBool
	KindDate
	KindJSON
	KindRelation // the id of a record of Field.Target (a list of ids when Multiple)
	KindSecret   // a password: never compared
)

func (k Kind) String() string {
	switch k {
	case KindText, KindRelation:
		return "text"
	case KindNumber:
		return "number"
	case KindBool:
		return "bool"
	case KindDate:
		return "date"
	case KindJSON:
		return "json"
	case KindSecret:
		return "password"
	}
	return "unknown"
}

// Field is what the checker knows of one field.
type Field struct {
	Kind     Kind
	Multiple bool   // a list of values (multi select, multi relation)
	Integer  bool   // a number field that holds whole numbers
	Target   string // the related collection of a relation
	Hidden   bool
}

// Schema gives the checker the fields of collections. Field answers for the
// system fields id (text), created and updated (dates) too; ok is false for
// an unknown collection or field.
type Schema interface {
	Field(collection, name string) (f Field, ok bool)
}

// Options tune Check.
type Options struct {
	// Hidden allows hidden fields (for superusers and rules).
	Hidden bool
	// Request allows @request.* names. Filters sent by clients may use them
	// too; they are bound to the caller's own request.
	Request bool
}

// Cond is a checked condition: *And, *Or, *Not, *Cmp or Const.
type Cond interface{ cond() }

// And holds when every one of its conditions does.
type And []Cond

// Or holds when any one of its conditions does.
type Or []Cond

// NotCond negates a condition.
type NotCond struct{ X Cond }

// Const is a condition whose value is known without a record.
type Const bool

// Cmp is one checked comparison. L is a *Path when the comparison reads a
// record, except in "value ~ path" (and !~, ?~, ?!~), where L is the
// *Value or *Param that may contain R's text; R is a *Path, a *Value or a
// *Param.
type Cmp struct {
	Op   Op
	L, R Term
	// Type is the type both sides compare as (text for :lower, number for
	// :length, ...).
	Type Kind
}

func (And) cond()      {}
func (Or) cond()       {}
func (*NotCond) cond() {}
func (Const) cond()    {}
func (*Cmp) cond()     {}

// Term is one side of a checked comparison: *Path, *Value or *Param.
type Term interface{ term() }

// Value is a constant: nil, string, float64, bool or time.Time.
type Value struct{ V any }

// Param is a value known only per request: @now and the like, and
// @request.*. Bind replaces it with a Value.
type Param struct {
	Name string // "now", "todayStart", "todayEnd", "request.method", "request.auth.id", ...
	Mod  Modifier
}

// Path reads values from the record under test, maybe through relations.
type Path struct {
	// Root is the collection the path starts from, or, for
	// @collection.<name>, that collection (with Any set).
	Root string
	// Any marks a path whose root is every record of Root (@collection).
	Any bool
	// RootWhere, for an Any path, is the condition its records must meet
	// (as Step.Where).
	RootWhere Cond
	Steps     []Step
	Mod       Modifier
	// Kind is the kind of value the last step yields, before the modifier.
	Kind Kind
	// Multi is set when the path yields several values: it goes through a
	// multi relation or back-relation, ends at a list field, or is Any.
	Multi bool
	// List is set when the last field holds a list (multi select or multi
	// relation) or JSON that may be an array.
	List bool
	// Integer is set when the last field holds whole numbers.
	Integer bool
	// Name is the path as written, without its modifier, for messages.
	Name string
}

func (*Path) term()  {}
func (*Value) term() {}
func (*Param) term() {}

// Step is one field read along a path. Every step but the last follows a
// relation; the last reads the value.
type Step struct {
	Collection string // the collection whose field this step reads
	Field      string
	Via        StepVia
	// Target is the collection the step leads to: the relation's target
	// (ViaField, ViaList), or Collection itself (ViaBack, ViaBackList); ""
	// for the last step.
	Target string
	// Where, when set, is a condition the records this step reaches must
	// meet to be reached at all (the caller's view rule on them): the
	// target of a relation, or the records of a back-relation. It is
	// bound, and about those records. The services set it; Check does not.
	Where Cond
}

// StepVia tells how a step reaches its records.
type StepVia uint8

// How a step reaches the next collection.
const (
	// ViaField reads Field of the current record (the last step, or a
	// single relation).
	ViaField StepVia = iota
	// ViaList reads the list of ids in Field (a multi relation).
	ViaList
	// ViaBack finds the records of Collection whose single relation Field
	// points at the current record.
	ViaBack
	// ViaBackList finds the records of Collection whose multi relation
	// Field holds the current record's id.
	ViaBackList
)

// Multi reports whether a step may reach several records.
func (v StepVia) Multi() bool { return v != ViaField }

// Check resolves an expression against the fields of collection.
func Check(e Expr, s Schema, collection string, opt Options) (Cond, error) {
	c := &checker{s: s, root: collection, opt: opt}
	cond := c.cond(e)
	if c.err != nil {
		return nil, c.err
	}
	return cond, nil
}

// ParseCheck parses and checks src. Errors carry positions in src.
func ParseCheck(src string, s Schema, collection string, opt Options) (Cond, error) {
	e, err := Parse(src)
	if err != nil {
		return nil, err
	}
	c := &checker{s: s, root: collection, opt: opt, src: src}
	cond := c.cond(e)
	if c.err != nil {
		return nil, c.err
	}
	return cond, nil
}

type checker struct {
	s     Schema
	root  string
	opt   Options
	src   string
	err   *Error
	joins int
}

func (c *checker) fail(pos int, format string, args ...any) {
	if c.err == nil {
		if c.src != "" {
			c.err = errAt(c.src, pos, format, args...)
		} else {
			c.err = &Error{Pos: pos, Col: pos + 1, Msg: fmt.Sprintf(format, args...)}
		}
	}
}

func (c *checker) cond(e Expr) Cond {
	if c.err != nil {
		return nil
	}
	switch x := e.(type) {
	case *Logic:
		l, r := c.cond(x.X), c.cond(x.Y)
		if x.Or {
			return Or{l, r}
		}
		return And{l, r}
	case *Not:
		return &NotCond{X: c.cond(x.X)}
	case *Compare:
		return c.compare(x)
	}
	c.fail(e.Pos(), "unexpected %s", e)
	return nil
}

func (c *checker) compare(x *Compare) Cond {
	l, r := c.term(x.L), c.term(x.R)
	if c.err != nil {
		return nil
	}
	// Keep a path on the left, so compilers see "path op value", flipping
	// orderings. ~ cannot flip: "ab" ~ title asks whether "ab" contains
	// the title, so a value stays on the left of ~ and !~.
	op := x.Op
	lp, _ := l.(*Path)
	rp, rIsPath := r.(*Path)
	like := op.Kind == OpLike || op.Kind == OpNLike
	if lp == nil && rIsPath && !like {
		l, r, op = r, l, flip(op)
		lp, rp = rp, nil
		x = &Compare{Op: op, L: x.R, R: x.L, At: x.At}
	} else if !rIsPath {
		rp = nil
	}
	k := op.Kind
	ltype, rtype := c.kindOf(l), c.kindOf(r)
	// Multi-valued sides need the any-of family, except a null test of a list field.
	isNull := isNullValue(r)
	for _, p := range []*Path{lp, rp} {
		if p == nil || !p.Multi || p.Mod == ModLength {
			continue
		}
		if isNull && !op.Any && (k == OpEq || k == OpNeq) && p == lp && p.List && !multiStep(p) {
			continue // tags = null: the list is empty
		}
		if !op.Any {
			c.fail(x.At, "%s holds several values: use an any-of operator such as ?%s", p.Name, opText[k])
			return nil
		}
	}
	if lp != nil && rp != nil && lp.Multi && rp.Multi && lp.Mod != ModLength && rp.Mod != ModLength {
		c.fail(x.At, "%s and %s both hold several values: one side must hold one", lp.Name, rp.Name)
		return nil
	}
	if lp == nil && rp != nil && rp.Kind == KindJSON && rp.Mod != ModLength {
		c.fail(x.At, "%s is a json field: write it on the left of %s", rp.Name, op)
		return nil
	}
	if lp != nil && lp.Kind == KindJSON && lp.Mod != ModLength {
		switch {
		case isNull && (k == OpEq || k == OpNeq) && !op.Any:
		case op.Any && rp == nil:
		default:
			c.fail(x.At, "%s is a json field: compare it with null, or its array elements with ?= and the like", lp.Name)
			return nil
		}
	}
	if isNull {
		if k != OpEq && k != OpNeq {
			c.fail(x.At, "null only compares with = and !=")
			return nil
		}
		if op.Any && lp != nil && !lp.Multi {
			op.Any = false
		}
		if op.Any {
			c.fail(x.At, "?%s null: compare a multi-valued field with null using = or != (an empty list has no value)", opText[k])
			return nil
		}
		return &Cmp{Op: op, L: l, R: r, Type: ltype}
	}
	if lp != nil && lp.Kind == KindJSON && lp.Mod != ModLength {
		// Elements of a JSON array compare with any literal; they match
		// only values of their own JSON type.
		if k == OpLike || k == OpNLike {
			if _, ok := valueOf(r).(string); !ok && !isParam(r) {
				c.fail(x.R.Pos(), "~ needs a string")
				return nil
			}
		}
		if isDate(r) {
			c.fail(x.R.Pos(), "json elements compare with strings, numbers and bools, not dates")
			return nil
		}
		return &Cmp{Op: op, L: l, R: r, Type: KindJSON}
	}
	t := ltype
	if t == 0 {
		t = rtype
	}
	// A string literal compared with a date is a date.
	if t == KindDate {
		if v, ok := r.(*Value); ok {
			if s, ok := v.V.(string); ok {
				tm, ok := ParseTime(s)
				if !ok {
					c.fail(x.R.Pos(), "%q is not a date: expected 2006-01-02, 2006-01-02 15:04:05 or RFC 3339", s)
					return nil
				}
				r = &Value{V: tm}
				rtype = KindDate
			}
		}
	}
	if ltype != 0 && rtype != 0 && ltype != rtype {
		c.fail(x.R.Pos(), "cannot compare %s (%s) with %s", x.L, ltype, rtype)
		return nil
	}
	switch k {
	case OpLike, OpNLike:
		if t != KindText && t != 0 {
			c.fail(x.At, "%s needs text on both sides, not %s", op, t)
			return nil
		}
	case OpGt, OpGte, OpLt, OpLte:
		if t == KindBool {
			c.fail(x.At, "%s does not order bools: use = or !=", op)
			return nil
		}
	}
	return &Cmp{Op: op, L: l, R: r, Type: t}
}

func multiStep(p *Path) bool {
	if p.Any {
		return true
	}
	for _, s := range p.Steps[:len(p.Steps)-1] {
		if s.Via.Multi() {
			return true
		}
	}
	return p.Steps[len(p.Steps)-1].Via == ViaBack || p.Steps[len(p.Steps)-1].Via == ViaBackList
}

func flip(o Op) Op {
	switch o.Kind {
	case OpGt:
		o.Kind = OpLt
	case OpGte:
		o.Kind = OpLte
	case OpLt:
		o.Kind = OpGt
	case OpLte:
		o.Kind = OpGte
	}
	return o
}

func isNullValue(t Term) bool {
	v, ok := t.(*Value)
	return ok && v.V == nil
}

func isParam(t Term) bool { _, ok := t.(*Param); return ok }

func valueOf(t Term) any {
	if v, ok := t.(*Value); ok {
		return v.V
	}
	return nil
}

func isDate(t Term) bool {
	switch x := t.(type) {
	case *Value:
		_, ok := x.V.(time.Time)
		return ok
	case *Param:
		return x.Name == "now" || x.Name == "todayStart" || x.Name == "todayEnd"
	}
	return false
}

// kindOf returns the type a term compares as; 0 when it is not known before
// binding (null, @request values).
func (c *checker) kindOf(t Term) Kind {
	switch x := t.(type) {
	case *Path:
		switch {
		case x.Mod == ModLength:
			return KindNumber
		case x.Mod == ModLower, x.Kind == KindRelation:
			return KindText
		}
		return x.Kind
	case *Value:
		switch x.V.(type) {
		case string:
			return KindText
		case float64:
			return KindNumber
		case bool:
			return KindBool
		case time.Time:
			return KindDate
		}
	case *Param:
		if isDate(x) {
			return KindDate
		}
		if x.Mod == ModLength {
			return KindNumber
		}
	}
	return 0
}

func (c *checker) term(o Operand) Term {
	switch x := o.(type) {
	case *Literal:
		switch x.Kind {
		case LitString:
			return &Value{V: x.Str}
		case LitNumber:
			return &Value{V: x.Num}
		case LitBool:
			return &Value{V: x.Bool}
		}
		return &Value{V: nil}
	case *Ident:
		return c.path(c.root, false, x.Path, x.Mod, x.At, strings.Join(x.Path, "."))
	case *Macro:
		return c.macro(x)
	}
	c.fail(o.Pos(), "unexpected %s", o)
	return nil
}

func (c *checker) macro(x *Macro) Term {
	name := strings.Join(x.Path, ".")
	switch x.Path[0] {
	case "now", "todayStart", "todayEnd":
		if len(x.Path) > 1 || x.Mod != ModNone {
			c.fail(x.At, "@%s takes no path or modifier", x.Path[0])
			return nil
		}
		return &Param{Name: name}
	case "request":
		if !c.opt.Request {
			c.fail(x.At, "@request is not available here")
			return nil
		}
		if len(x.Path) == 2 && x.Path[1] == "method" {
			return &Param{Name: name, Mod: x.Mod}
		}
		if len(x.Path) != 3 || (x.Path[1] != "auth" && x.Path[1] != "body" && x.Path[1] != "query") {
			c.fail(x.At, "expected @request.method, @request.auth.<field>, @request.body.<field> or @request.query.<name>")
			return nil
		}
		if x.Mod == ModLength && x.Path[1] == "query" {
			c.fail(x.At, ":length applies to multi-valued fields")
			return nil
		}
		return &Param{Name: name, Mod: x.Mod}
	case "collection":
		if len(x.Path) < 3 {
			c.fail(x.At, "expected @collection.<name>.<field>")
			return nil
		}
		if _, ok := c.s.Field(x.Path[1], "id"); !ok {
			c.fail(x.At, "no collection %q", x.Path[1])
			return nil
		}
		c.joins++
		return c.path(x.Path[1], true, x.Path[2:], x.Mod, x.At, "@"+strings.Join(x.Path, "."))
	case "random":
		c.fail(x.At, "@random only sorts; it cannot be compared")
		return nil
	}
	c.fail(x.At, "unknown name @%s: expected @now, @todayStart, @todayEnd, @request or @collection", x.Path[0])
	return nil
}

// ResolvePath checks a dotted path (as sort keys use them) against the
// fields of collection.
func ResolvePath(s Schema, collection string, path []string, opt Options) (*Path, error) {
	c := &checker{s: s, root: collection, opt: opt}
	p := c.path(collection, false, path, ModNone, 0, strings.Join(path, "."))
	if c.err != nil {
		return nil, c.err
	}
	return p, nil
}

func (c *checker) path(root string, any bool, names []string, mod Modifier, at int, text string) *Path {
	p := &Path{Root: root, Any: any, Multi: any, Mod: mod, Name: text}
	cur := root
	for i, name := range names {
		last := i == len(names)-1
		f, ok := c.s.Field(cur, name)
		if !ok {
			// A back-relation: <collection>_via_<field>.
			if coll, field, isBack := strings.Cut(name, "_via_"); isBack {
				bf, ok := c.s.Field(coll, field)
				if !ok || bf.Kind != KindRelation || bf.Target != cur || (bf.Hidden && !c.opt.Hidden) {
					c.fail(at, "%s: %s is not a relation of %s to %s", text, field, coll, cur)
					return nil
				}
				via := ViaBack
				if bf.Multiple {
					via = ViaBackList
				}
				c.joins++
				p.Steps = append(p.Steps, Step{Collection: coll, Field: field, Via: via, Target: coll})
				p.Multi = true
				cur = coll
				if last {
					// The back-related records themselves: their ids.
					p.Steps = append(p.Steps, Step{Collection: coll, Field: "id"})
					p.Kind = KindText
					p.List = true
				}
				continue
			}
			c.fail(at, "%s: %s has no field %q", text, cur, name)
			return nil
		}
		if f.Hidden && !c.opt.Hidden {
			c.fail(at, "%s: %s has no field %q", text, cur, name)
			return nil
		}
		if f.Kind == KindSecret {
			c.fail(at, "%s: password fields cannot be compared", text)
			return nil
		}
		if last {
			p.Steps = append(p.Steps, Step{Collection: cur, Field: name})
			p.Kind = f.Kind
			p.Integer = f.Integer
			if f.Multiple || f.Kind == KindJSON {
				p.List = true
				p.Multi = true
			}
			break
		}
		if f.Kind != KindRelation {
			c.fail(at, "%s: %s is not a relation, so it has no field %q", text, name, names[i+1])
			return nil
		}
		via := ViaField
		if f.Multiple {
			via = ViaList
			p.Multi = true
		}
		c.joins++
		p.Steps = append(p.Steps, Step{Collection: cur, Field: name, Via: via, Target: f.Target})
		cur = f.Target
	}
	if c.joins > MaxJoins {
		c.fail(at, "the expression follows more than %d relations", MaxJoins)
		return nil
	}
	switch mod {
	case ModLength:
		if !p.List {
			c.fail(at, "%s:length: :length applies to multi-valued fields and back-relations", text)
			return nil
		}
		if multiStep(p) && !(len(p.Steps) >= 2 && isBackLast(p)) {
			c.fail(at, "%s:length: the path already holds several values", text)
			return nil
		}
		p.Multi = false
	case ModLower:
		if p.Kind != KindText {
			c.fail(at, "%s:lower: :lower applies to text, not %s", text, p.Kind)
			return nil
		}
	}
	return p
}

// isBackLast reports whether the path ends with a back-relation (and its
// implied id step), so p:length counts those records.
func isBackLast(p *Path) bool {
	n := len(p.Steps)
	if n < 2 || (p.Steps[n-2].Via != ViaBack && p.Steps[n-2].Via != ViaBackList) {
		return false
	}
	for _, s := range p.Steps[:n-2] {
		if s.Via.Multi() {
			return false
		}
	}
	return !p.Any
}
