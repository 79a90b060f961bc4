package expr

import (
	"errors"
	"strings"
	"testing"
)

// TestParse states the grammar by example: each source and the S-expression
// form (Expr.String) of the tree it parses to.
func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		// Every operator.
		{`a = 1`, `(= a 1)`},
		{`a != 1`, `(!= a 1)`},
		{`a > 1`, `(> a 1)`},
		{`a >= 1`, `(>= a 1)`},
		{`a < 1`, `(< a 1)`},
		{`a <= 1`, `(<= a 1)`},
		{`a ~ "x"`, `(~ a "x")`},
		{`a !~ "x"`, `(!~ a "x")`},
		{`a ?= 1`, `(?= a 1)`},
		{`a ?!= 1`, `(?!= a 1)`},
		{`a ?> 1`, `(?> a 1)`},
		{`a ?>= 1`, `(?>= a 1)`},
		{`a ?< 1`, `(?< a 1)`},
		{`a ?<= 1`, `(?<= a 1)`},
		{`a ?~ "x"`, `(?~ a "x")`},
		{`a ?!~ "x"`, `(?!~ a "x")`},
		// Operators need no spaces around them.
		{`a>=1`, `(>= a 1)`},
		{`a?!=1`, `(?!= a 1)`},
		{`a!~'x'`, `(!~ a "x")`},
		// Precedence: && binds tighter than ||; both associate to the left.
		{`a = 1 || b = 2 && c = 3`, `(or (= a 1) (and (= b 2) (= c 3)))`},
		{`a = 1 && b = 2 || c = 3`, `(or (and (= a 1) (= b 2)) (= c 3))`},
		{`a = 1 && b = 2 && c = 3`, `(and (and (= a 1) (= b 2)) (= c 3))`},
		{`a = 1 || b = 2 || c = 3`, `(or (or (= a 1) (= b 2)) (= c 3))`},
		{`(a = 1 || b = 2) && c = 3`, `(and (or (= a 1) (= b 2)) (= c 3))`},
		{`a = 1 && (b = 2 || c = 3)`, `(and (= a 1) (or (= b 2) (= c 3)))`},
		{`((a = 1))`, `(= a 1)`},
		// Negation binds to the comparison or parenthesis that follows.
		{`!a = 1`, `(not (= a 1))`},
		{`!(a = 1 || b = 2)`, `(not (or (= a 1) (= b 2)))`},
		{`!!(a = 1)`, `(not (not (= a 1)))`},
		{`!a = 1 && b = 2`, `(and (not (= a 1)) (= b 2))`},
		{`a = 1 || !(b = 2 && !c = 3)`, `(or (= a 1) (not (and (= b 2) (not (= c 3)))))`},
		// White space of every kind.
		{"\ta =\n1\r\n&&  b=2 ", `(and (= a 1) (= b 2))`},
		// Strings: both quotes, escapes; an unknown escape stands for the character.
		{`a = "x"`, `(= a "x")`},
		{`a = 'x'`, `(= a "x")`},
		{`a = ""`, `(= a "")`},
		{`a = ''`, `(= a "")`},
		{`a = "it's"`, `(= a "it's")`},
		{`a = 'say "hi"'`, `(= a "say \"hi\"")`},
		{`a = "say \"hi\""`, `(= a "say \"hi\"")`},
		{`a = 'it\'s'`, `(= a "it's")`},
		{`a = "back\\slash"`, `(= a "back\\slash")`},
		{`a = "1\n2\t3\r"`, `(= a "1\n2\t3\r")`},
		{`a = "\q\%\_"`, `(= a "q%_")`},
		{`a = "é σ ß 😀"`, `(= a "é σ ß 😀")`},
		{`a = "&& || ( ) = !"`, `(= a "&& || ( ) = !")`},
		// Numbers.
		{`a = 0`, `(= a 0)`},
		{`a = 42`, `(= a 42)`},
		{`a = -1`, `(= a -1)`},
		{`a = -0`, `(= a -0)`},
		{`a = 2.5`, `(= a 2.5)`},
		{`a = -2.5`, `(= a -2.5)`},
		{`a = .5`, `(= a 0.5)`},
		{`a = -.5`, `(= a -0.5)`},
		{`a = 5.`, `(= a 5)`},
		{`a = 1e3`, `(= a 1000)`},
		{`a = 1E3`, `(= a 1000)`},
		{`a = 1.5e-3`, `(= a 0.0015)`},
		{`a = -1.5e+3`, `(= a -1500)`},
		{`a = 1e21`, `(= a 1e+21)`},
		{`a>-1`, `(> a -1)`},
		// true, false, null.
		{`a = true`, `(= a true)`},
		{`a = false`, `(= a false)`},
		{`a = null`, `(= a null)`},
		{`null != a`, `(!= null a)`},
		{`true = a`, `(= true a)`},
		// Names that only start like keywords are names.
		{`trueish = nullable`, `(= trueish nullable)`},
		// Paths and modifiers.
		{`_a1 = 1`, `(= _a1 1)`},
		{`author.name = "x"`, `(= author.name "x")`},
		{`post.author.company.name = "x"`, `(= post.author.company.name "x")`},
		{`comments_via_post.body ?~ "x"`, `(?~ comments_via_post.body "x")`},
		{`title:lower = "x"`, `(= title:lower "x")`},
		{`author.name:lower ~ "x"`, `(~ author.name:lower "x")`},
		{`tags:length > 2`, `(> tags:length 2)`},
		{`comments_via_post:length = 0`, `(= comments_via_post:length 0)`},
		// Two paths.
		{`views > author.age`, `(> views author.age)`},
		{`title = author.name`, `(= title author.name)`},
		// Every @ name (the checker decides which are allowed where).
		{`created > @now`, `(> created @now)`},
		{`created >= @todayStart`, `(>= created @todayStart)`},
		{`created <= @todayEnd`, `(<= created @todayEnd)`},
		{`owner = @request.auth.id`, `(= owner @request.auth.id)`},
		{`@request.auth.id != ""`, `(!= @request.auth.id "")`},
		{`@request.auth.collectionName = "users"`, `(= @request.auth.collectionName "users")`},
		{`title = @request.body.title`, `(= title @request.body.title)`},
		{`@request.body.tags:length < 3`, `(< @request.body.tags:length 3)`},
		{`@request.body.title:lower = "x"`, `(= @request.body.title:lower "x")`},
		{`views = @request.query.views`, `(= views @request.query.views)`},
		{`@request.method = "GET"`, `(= @request.method "GET")`},
		{`@collection.users.name ?= title`, `(?= @collection.users.name title)`},
		{`@collection.users.posts_via_author.title ?= "x"`, `(?= @collection.users.posts_via_author.title "x")`},
		{`@random = 1`, `(= @random 1)`},
		// Literals on both sides parse; the checker and Bind fold them.
		{`1 = 1`, `(= 1 1)`},
		{`"a" = 'a'`, `(= "a" "a")`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.src, got, tt.want)
		}
	}
}

// TestParsePositions checks the byte offsets nodes record: they point at
// the operator of a comparison and of && and ||, and at the first character
// of an operand.
func TestParsePositions(t *testing.T) {
	t.Parallel()
	src := `ab = 1 || !(cd.e ?= "x")`
	e, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	or := e.(*Logic)
	cmp := or.X.(*Compare)
	not := or.Y.(*Not)
	any := not.X.(*Compare)
	for _, tt := range []struct {
		name string
		got  int
		want string // the source from the position on starts with this
	}{
		{"||", or.Pos(), "|| !"},
		{"=", cmp.Pos(), "= 1"},
		{"ab", cmp.L.Pos(), "ab ="},
		{"1", cmp.R.Pos(), "1 ||"},
		{"!", not.Pos(), "!("},
		{"?=", any.Pos(), `?= "x"`},
		{"cd.e", any.L.Pos(), "cd.e"},
		{`"x"`, any.R.Pos(), `"x")`},
	} {
		if !strings.HasPrefix(src[tt.got:], tt.want) {
			t.Errorf("position of %s: %d points at %q, want %q", tt.name, tt.got, src[tt.got:], tt.want)
		}
	}
}

// TestParseErrors checks that each malformed source is refused with an
// *Error at the expected character (1-based, counted in characters, not
// bytes) and a message that says what is wrong.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		col  int
		msg  string
	}{
		{"Empty", ``, 1, "empty"},
		{"Blank", "  \t\n", 1, "empty"},
		{"UnclosedDouble", `a = "abc`, 5, `string is not closed: expected "`},
		{"UnclosedSingle", `a = 'abc"`, 5, `string is not closed: expected '`},
		{"UnclosedEscape", `a = "abc\"`, 5, "string is not closed"},
		{"TrailingBackslash", `a = "abc\`, 5, "string is not closed"},
		{"UnclosedParen", `(a = 1`, 7, ") to close the ( at character 1, found the end"},
		{"UnclosedInnerParen", `a = 1 && (b = 2 || (c = 3)`, 27, ") to close the ( at character 10"},
		{"ExtraParen", `a = 1)`, 6, `expected &&, || or the end, found ")"`},
		{"EmptyParens", `()`, 2, `expected a field, a value or an @ name, found ")"`},
		{"ParenOperand", `a = (1)`, 5, `found "("`},
		{"DoubleEquals", `a == 1`, 3, "use = to compare, not =="},
		{"MissingOperator", `a 1`, 3, "expected an operator such as =, !=, >, ~ or ?=, found a number"},
		{"OnlyName", `a`, 2, "expected an operator"},
		{"MissingOperand", `a =`, 4, "expected a field, a value or an @ name, found the end"},
		{"DanglingAnd", `a = 1 &&`, 9, "expected a field, a value or an @ name, found the end"},
		{"DanglingOr", `a = 1 || `, 10, "found the end"},
		{"LeadingAnd", `&& a = 1`, 1, `found "&&"`},
		{"SingleAmpersand", `a = 1 & b = 2`, 7, "unexpected character '&'"},
		{"SinglePipe", `a = 1 | b = 2`, 7, "unexpected character '|'"},
		{"TwoValues", `a = "x" "y"`, 9, "expected &&, || or the end, found a string"},
		{"ChainedComparison", `a = 1 = 2`, 7, `expected &&, || or the end, found "="`},
		{"NotWithoutOperand", `!`, 2, "found the end"},
		{"BadModifier", `a:upper = 1`, 3, `expected a modifier, :lower or :length, found "upper"`},
		{"EmptyModifier", `a: = 1`, 4, `expected a modifier, :lower or :length, found "="`},
		{"SpacedModifier", `a :lower = 1`, 3, `found ":"`},
		{"SpacedDot", `a . b = 1`, 3, `found "."`},
		{"DotWithoutName", `a. = 1`, 4, "expected a field name after ., found"},
		{"TrailingDot", `a.b. = 1`, 6, "expected a field name after ."},
		{"BareAt", `@ = 1`, 1, "expected a name after @"},
		{"BareQuestionMark", `a ? 1`, 3, "expected an any-of operator such as ?= after ?"},
		{"UnexpectedCharacter", `a = #`, 5, "unexpected character '#'"},
		{"UnexpectedSemicolon", `a = 1; DROP TABLE t`, 6, "unexpected character ';'"},
		{"NonASCIIName", `é = 1`, 1, "unexpected character 'é'"},
		{"ColumnCountsCharacters", `a = "é" ; b`, 9, "unexpected character ';'"},
		{"HexNumber", `a = 0x1`, 5, `expected a number, found "0x"`},
		{"NumberThenName", `a = 12abc`, 5, `expected a number, found "12a"`},
		{"TwoDots", `a = 1.2.3`, 5, `"1.2.3" is not a number`},
		{"Underscore", `a = 1_000`, 5, `"1_000" is not a number`},
		{"BareExponent", `a = 1e`, 5, `"1e" is not a number`},
		{"Overflow", `a = 1e999`, 5, `"1e999" is not a number`},
		{"LoneMinus", `a = -`, 5, "unexpected character '-'"},
		{"NULInString", "a = \"x\x00y\"", 7, "a string cannot hold a NUL character"},
		{"EscapedNUL", "a = \"x\\\x00\"", 8, "a string cannot hold a NUL character"},
		{"NULOutsideString", "a = 1\x00", 6, "unexpected character '\\x00'"},
		{"InvalidUTF8", "a = \"x\xffy\"", 7, "not valid UTF-8"},
		{"InvalidUTF8AfterMultibyte", "é = \xc3", 5, "not valid UTF-8"},
		{"TooLong", `a = "` + strings.Repeat("x", MaxLength) + `"`, MaxLength + 1, "longer than 8192 bytes"},
		{"TooLongMultibyte", `a = "` + strings.Repeat("é", MaxLength) + `"`, (MaxLength-5)/2 + 5 + 1, "longer than 8192 bytes"},
		{"TooDeepParens", strings.Repeat("(", MaxDepth+1) + "a = 1" + strings.Repeat(")", MaxDepth+1), MaxDepth + 1, "nests deeper than 32 levels"},
		{"TooDeepNot", strings.Repeat("!", MaxDepth+1) + "a = 1", MaxDepth + 1, "nests deeper than 32 levels"},
		{"TooManyComparisons", strings.Repeat("a = 1 && ", MaxComparisons) + "a = 1", len("a = 1 && ")*MaxComparisons + 3, "more than 128 comparisons"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.src)
			if err == nil {
				t.Fatalf("Parse(%.80q) = %s, want an error", tt.src, e)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%.80q): error %T %v, want *Error", tt.src, err, err)
			}
			if pe.Col != tt.col {
				t.Errorf("Parse(%.80q): error at character %d, want %d (%v)", tt.src, pe.Col, tt.col, err)
			}
			if pe.Pos < 0 || pe.Pos > len(tt.src) {
				t.Errorf("Parse(%.80q): Pos %d outside the source (length %d)", tt.src, pe.Pos, len(tt.src))
			}
			if !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("Parse(%.80q): message %q, want it to contain %q", tt.src, pe.Msg, tt.msg)
			}
			if want := "at character "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want it to start with %q", err.Error(), want)
			}
		})
	}
}

// TestParseLimitsAreInclusive checks that the limits themselves are allowed.
func TestParseLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"MaxLength":      `a = "` + strings.Repeat("x", MaxLength-6) + `"`,
		"MaxDepthParens": strings.Repeat("(", MaxDepth) + "a = 1" + strings.Repeat(")", MaxDepth),
		"MaxDepthNot":    strings.Repeat("!", MaxDepth) + "a = 1",
		"MaxComparisons": strings.Repeat("a = 1 || ", MaxComparisons-1) + "a = 1",
	} {
		if len(src) > MaxLength {
			t.Fatalf("%s: test source is %d bytes", name, len(src))
		}
		if _, err := Parse(src); err != nil {
			t.Errorf("%s: Parse: %v", name, err)
		}
	}
}
