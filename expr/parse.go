package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of what Parse accepts. They bound the work a request can ask for.
const (
	// MaxLength is the longest expression, in bytes.
	MaxLength = 8192
	// MaxDepth is the deepest nesting of parentheses and negations.
	MaxDepth = 32
	// MaxComparisons is the most comparisons one expression may hold.
	MaxComparisons = 128
)

// Error is a parse or type error, with the byte offset it was found at.
type Error struct {
	Pos int    // byte offset in the source
	Col int    // 1-based character position, for people
	Msg string // what was expected or what is wrong
}

func (e *Error) Error() string { return fmt.Sprintf("at character %d: %s", e.Col, e.Msg) }

func errAt(src string, pos int, format string, args ...any) *Error {
	if pos > len(src) {
		pos = len(src)
	}
	return &Error{Pos: pos, Col: utf8.RuneCountInString(src[:pos]) + 1, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses an expression. An empty or blank source is an error: callers
// treat "no filter" before they get here.
func Parse(src string) (Expr, error) {
	if len(src) > MaxLength {
		// Point at the first character that does not fit whole.
		pos := MaxLength
		for pos > 0 && !utf8.RuneStart(src[pos]) {
			pos--
		}
		return nil, errAt(src, pos, "the expression is longer than %d bytes", MaxLength)
	}
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, errAt(src, i, "the expression is not valid UTF-8")
	}
	p := &parser{src: src}
	p.next()
	if p.err != nil {
		return nil, p.err
	}
	if p.tok.kind == tEOF {
		return nil, errAt(src, 0, "the expression is empty")
	}
	e := p.or(0)
	if p.err != nil {
		return nil, p.err
	}
	if p.tok.kind != tEOF {
		return nil, p.expected("&&, || or the end")
	}
	return e, nil
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tString
	tNumber
	tName  // a name, true, false, null
	tMacro // @name
	tOp    // comparison operator
	tAnd
	tOr
	tNot
	tLParen
	tRParen
	tDot
	tColon
)

type token struct {
	kind tokKind
	pos  int
	text string // names, operators; the decoded value of strings
	num  float64
}

type parser struct {
	src   string
	pos   int
	tok   token
	err   *Error
	comps int
}

func (p *parser) fail(pos int, format string, args ...any) {
	if p.err == nil {
		p.err = errAt(p.src, pos, format, args...)
	}
	p.tok = token{kind: tEOF, pos: len(p.src)}
}

func (p *parser) expected(what string) *Error {
	if p.err != nil {
		return p.err
	}
	return errAt(p.src, p.tok.pos, "expected %s, found %s", what, p.describe())
}

func (p *parser) describe() string {
	switch p.tok.kind {
	case tEOF:
		return "the end"
	case tString:
		return "a string"
	case tNumber:
		return "a number"
	case tMacro:
		return strconv.Quote("@" + p.tok.text)
	}
	return strconv.Quote(p.tok.text)
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

// next reads the next token into p.tok.
func (p *parser) next() {
	if p.err != nil {
		return
	}
	s := p.src
	for p.pos < len(s) && (s[p.pos] == ' ' || s[p.pos] == '\t' || s[p.pos] == '\n' || s[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if start >= len(s) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	c := s[start]
	two := ""
	if start+1 < len(s) {
		two = s[start : start+2]
	}
	switch {
	case c == '"' || c == '\'':
		p.str(c)
		return
	case c >= '0' && c <= '9', c == '-' && start+1 < len(s) && (s[start+1] >= '0' && s[start+1] <= '9' || s[start+1] == '.'),
		c == '.' && start+1 < len(s) && s[start+1] >= '0' && s[start+1] <= '9':
		p.number()
		return
	case isNameStart(c):
		end := start + 1
		for end < len(s) && isNameChar(s[end]) {
			end++
		}
		p.pos = end
		p.tok = token{kind: tName, pos: start, text: s[start:end]}
		return
	case c == '@':
		end := start + 1
		for end < len(s) && isNameChar(s[end]) {
			end++
		}
		if end == start+1 {
			p.fail(start, "expected a name after @")
			return
		}
		p.pos = end
		p.tok = token{kind: tMacro, pos: start, text: s[start+1 : end]}
		return
	case two == "&&":
		p.tok = token{kind: tAnd, pos: start, text: two}
	case two == "||":
		p.tok = token{kind: tOr, pos: start, text: two}
	case c == '?':
		for _, op := range [...]string{"?!=", "?!~", "?>=", "?<=", "?=", "?>", "?<", "?~"} {
			if strings.HasPrefix(s[start:], op) {
				p.pos = start + len(op)
				p.tok = token{kind: tOp, pos: start, text: op}
				return
			}
		}
		p.fail(start, "expected an any-of operator such as ?= after ?")
		return
	case two == "!=" || two == "!~" || two == ">=" || two == "<=":
		p.tok = token{kind: tOp, pos: start, text: two}
	case c == '=' || c == '>' || c == '<' || c == '~':
		p.tok = token{kind: tOp, pos: start, text: s[start : start+1]}
		if two == "==" {
			p.fail(start, "use = to compare, not ==")
			return
		}
	case c == '!':
		p.tok = token{kind: tNot, pos: start, text: "!"}
	case c == '(':
		p.tok = token{kind: tLParen, pos: start, text: "("}
	case c == ')':
		p.tok = token{kind: tRParen, pos: start, text: ")"}
	case c == '.':
		p.tok = token{kind: tDot, pos: start, text: "."}
	case c == ':':
		p.tok = token{kind: tColon, pos: start, text: ":"}
	default:
		r, _ := utf8.DecodeRuneInString(s[start:])
		p.fail(start, "unexpected character %q", r)
		return
	}
	p.pos = start + len(p.tok.text)
}

// str reads a quoted string. Backslash escapes the quote, the backslash,
// and \n, \t, \r; any other escaped character stands for itself. A NUL
// character is refused: no text Loam stores can hold one (and PostgreSQL
// refuses it as a parameter).
func (p *parser) str(quote byte) {
	s, start := p.src, p.pos
	var b strings.Builder
	for i := start + 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case 0:
			p.fail(i, "a string cannot hold a NUL character")
			return
		case quote:
			p.pos = i + 1
			p.tok = token{kind: tString, pos: start, text: b.String()}
			return
		case '\\':
			i++
			if i >= len(s) {
				break
			}
			switch s[i] {
			case 0:
				p.fail(i, "a string cannot hold a NUL character")
				return
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	p.fail(start, "the string is not closed: expected %c", quote)
}

func (p *parser) number() {
	s, start := p.src, p.pos
	end := start
	if s[end] == '-' {
		end++
	}
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || s[end] == '_') {
		end++
	}
	if end < len(s) && (s[end] == 'e' || s[end] == 'E') {
		end++
		if end < len(s) && (s[end] == '+' || s[end] == '-') {
			end++
		}
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
	}
	text := s[start:end]
	if end < len(s) && isNameStart(s[end]) {
		p.fail(start, "expected a number, found %q", text+s[end:end+1])
		return
	}
	n, err := strconv.ParseFloat(text, 64)
	if err != nil || strings.Contains(text, "_") {
		p.fail(start, "%q is not a number", text)
		return
	}
	p.pos = end
	p.tok = token{kind: tNumber, pos: start, text: text, num: n}
}

func (p *parser) or(depth int) Expr {
	x := p.and(depth)
	for p.err == nil && p.tok.kind == tOr {
		at := p.tok.pos
		p.next()
		y := p.and(depth)
		x = &Logic{Or: true, X: x, Y: y, At: at}
	}
	return x
}

func (p *parser) and(depth int) Expr {
	x := p.unary(depth)
	for p.err == nil && p.tok.kind == tAnd {
		at := p.tok.pos
		p.next()
		y := p.unary(depth)
		x = &Logic{X: x, Y: y, At: at}
	}
	return x
}

// unary reads a comparison, or a negation or parenthesis nested depth
// levels deep; the negation or parenthesis that would nest deeper than
// MaxDepth is the error.
func (p *parser) unary(depth int) Expr {
	if (p.tok.kind == tNot || p.tok.kind == tLParen) && depth >= MaxDepth {
		p.fail(p.tok.pos, "the expression nests deeper than %d levels", MaxDepth)
		return nil
	}
	switch p.tok.kind {
	case tNot:
		at := p.tok.pos
		p.next()
		return &Not{X: p.unary(depth + 1), At: at}
	case tLParen:
		open := p.tok.pos
		p.next()
		x := p.or(depth + 1)
		if p.err != nil {
			return nil
		}
		if p.tok.kind != tRParen {
			p.err = p.expected(fmt.Sprintf(") to close the ( at character %d", utf8.RuneCountInString(p.src[:open])+1))
			return nil
		}
		p.next()
		return x
	}
	return p.comparison()
}

func (p *parser) comparison() Expr {
	l := p.operand()
	if p.err != nil {
		return nil
	}
	if p.tok.kind != tOp {
		p.err = p.expected("an operator such as =, !=, >, ~ or ?=")
		return nil
	}
	op, at := parseOp(p.tok.text), p.tok.pos
	p.next()
	r := p.operand()
	if p.err != nil {
		return nil
	}
	p.comps++
	if p.comps > MaxComparisons {
		p.fail(at, "the expression holds more than %d comparisons", MaxComparisons)
		return nil
	}
	return &Compare{Op: op, L: l, R: r, At: at}
}

func parseOp(s string) Op {
	var o Op
	if rest, ok := strings.CutPrefix(s, "?"); ok {
		o.Any, s = true, rest
	}
	for i, t := range opText {
		if t == s {
			o.Kind = OpKind(i)
		}
	}
	return o
}

func (p *parser) operand() Operand {
	t := p.tok
	switch t.kind {
	case tString:
		p.next()
		return &Literal{Kind: LitString, Str: t.text, At: t.pos}
	case tNumber:
		p.next()
		return &Literal{Kind: LitNumber, Num: t.num, At: t.pos}
	case tName:
		switch t.text {
		case "true", "false":
			p.next()
			return &Literal{Kind: LitBool, Bool: t.text == "true", At: t.pos}
		case "null":
			p.next()
			return &Literal{Kind: LitNull, At: t.pos}
		}
		path, mod := p.path(t.text)
		return &Ident{Path: path, Mod: mod, At: t.pos}
	case tMacro:
		path, mod := p.path(t.text)
		return &Macro{Path: path, Mod: mod, At: t.pos}
	}
	p.err = p.expected("a field, a value or an @ name")
	return nil
}

// path reads the rest of a dotted path whose first name is first, and an
// optional modifier.
func (p *parser) path(first string) ([]string, Modifier) {
	path := []string{first}
	end := p.tok.pos + len(p.tok.text)
	if p.tok.kind == tMacro {
		end++
	}
	p.next()
	// Parts of a path are written without spaces: a.b, not a . b.
	for p.err == nil && p.tok.kind == tDot && p.tok.pos == end {
		p.next()
		if p.tok.kind != tName || p.tok.pos != end+1 {
			p.err = p.expected("a field name after .")
			return nil, ModNone
		}
		path = append(path, p.tok.text)
		end = p.tok.pos + len(p.tok.text)
		p.next()
	}
	mod := ModNone
	if p.err == nil && p.tok.kind == tColon && p.tok.pos == end {
		p.next()
		switch {
		case p.tok.kind == tName && p.tok.text == "lower":
			mod = ModLower
		case p.tok.kind == tName && p.tok.text == "length":
			mod = ModLength
		default:
			p.err = p.expected("a modifier, :lower or :length")
			return nil, ModNone
		}
		p.next()
	}
	return path, mod
}
