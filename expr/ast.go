// Package expr is Loam's filter and rule language: one grammar, parsed once
// into an AST, checked against a schema, bound to a request's values, and then
// either evaluated in Go or compiled to SQL (package sqlstore does that).
//
//	views > 500 && (published = true || title ~ "go")
//
// The stages are separate so that each can be tested alone:
//
//   - Parse turns text into an untyped AST (Expr) or a *Error with a position.
//   - Check resolves names against a Schema and types every comparison,
//     giving a Cond tree; rules are checked once, when a collection is saved.
//   - Bind replaces @now, @request.* and friends with the request's values
//     and folds what no longer depends on a record.
//   - Eval runs a bound Cond over records in memory; SQL compilers walk the
//     same tree. Both follow the semantics written in this package.
package expr

import (
	"strconv"
	"strings"
)

// Expr is a node of the parsed, untyped syntax tree.
type Expr interface {
	// Pos is the byte offset of the node in the source.
	Pos() int
	String() string
}

// Logic joins two expressions.
type Logic struct {
	Or   bool // || when true, && otherwise
	X, Y Expr
	At   int
}

// Not negates an expression.
type Not struct {
	X  Expr
	At int
}

// Compare is one comparison: L Op R.
type Compare struct {
	Op   Op
	L, R Operand
	At   int
}

// Operand is one side of a comparison: a *Literal, *Ident or *Macro.
type Operand interface {
	Pos() int
	String() string
}

// Literal is a string, number, bool or null written in the source.
type Literal struct {
	Kind LitKind
	Str  string
	Num  float64
	Bool bool
	At   int
}

// LitKind tells which literal a Literal is.
type LitKind uint8

// Literal kinds.
const (
	LitNull LitKind = iota
	LitString
	LitNumber
	LitBool
)

// Ident is a field name or a relation path such as author.company.name,
// with an optional modifier (:lower, :length).
type Ident struct {
	Path []string
	Mod  Modifier
	At   int
}

// Macro is a name starting with @: @now, @todayStart, @todayEnd,
// @request.auth.<field>, @request.body.<field>, @request.query.<name>,
// @request.method and @collection.<name>.<path>. Path holds the dotted
// parts after the @, so @request.auth.id is ["request","auth","id"].
type Macro struct {
	Path []string
	Mod  Modifier
	At   int
}

// Modifier changes the value an operand yields.
type Modifier uint8

// Modifiers.
const (
	ModNone   Modifier = iota
	ModLower           // :lower, the value with case folded
	ModLength          // :length, the number of values of a multi-valued field
)

func (m Modifier) String() string {
	switch m {
	case ModLower:
		return ":lower"
	case ModLength:
		return ":length"
	}
	return ""
}

// Op is a comparison operator. The any-of family (?=, ?~, ...) is the same
// operator with Any set: true when any one of a multi-valued operand's values
// satisfies it.
type Op struct {
	Kind OpKind
	Any  bool
}

// OpKind is a comparison without its any-of mark.
type OpKind uint8

// Comparison kinds.
const (
	OpEq    OpKind = iota // =
	OpNeq                 // !=
	OpGt                  // >
	OpGte                 // >=
	OpLt                  // <
	OpLte                 // <=
	OpLike                // ~  (contains, case folded)
	OpNLike               // !~
)

var opText = [...]string{"=", "!=", ">", ">=", "<", "<=", "~", "!~"}

func (o Op) String() string {
	if o.Any {
		return "?" + opText[o.Kind]
	}
	return opText[o.Kind]
}

// Negative reports whether the operator is a negation (!=, !~), true where
// the value is missing.
func (k OpKind) Negative() bool { return k == OpNeq || k == OpNLike }

// Positive returns the operator a negative one negates (= for !=, ~ for !~);
// others are returned as they are.
func (k OpKind) Positive() OpKind {
	switch k {
	case OpNeq:
		return OpEq
	case OpNLike:
		return OpLike
	}
	return k
}

func (e *Logic) Pos() int   { return e.At }
func (e *Not) Pos() int     { return e.At }
func (e *Compare) Pos() int { return e.At }
func (e *Literal) Pos() int { return e.At }
func (e *Ident) Pos() int   { return e.At }
func (e *Macro) Pos() int   { return e.At }
func (e *Logic) String() string {
	op := "and"
	if e.Or {
		op = "or"
	}
	return "(" + op + " " + e.X.String() + " " + e.Y.String() + ")"
}
func (e *Not) String() string { return "(not " + e.X.String() + ")" }
func (e *Compare) String() string {
	return "(" + e.Op.String() + " " + e.L.String() + " " + e.R.String() + ")"
}
func (e *Ident) String() string { return strings.Join(e.Path, ".") + e.Mod.String() }
func (e *Macro) String() string { return "@" + strings.Join(e.Path, ".") + e.Mod.String() }
func (e *Literal) String() string {
	switch e.Kind {
	case LitString:
		return strconv.Quote(e.Str)
	case LitNumber:
		return strconv.FormatFloat(e.Num, 'g', -1, 64)
	case LitBool:
		return strconv.FormatBool(e.Bool)
	}
	return "null"
}
