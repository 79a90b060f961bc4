package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/expr"
)

// The differential filter test's world: three related collections filled
// with random records from small domains, where equal values, case
// variants, wildcards and missing values are common; a generator of random
// filter text over them; and the records in memory, for expr.Eval.

// textDomain makes equality and case folding interesting: case pairs, the
// three sigmas, ß (whose upper case is two letters), ǅ (title case), LIKE's
// wildcards and its escape character. The empty string is no value.
var textDomain = []string{"", "a", "A", "ab", "Ab", "b", "é", "É", "σ", "Σ", "ς", "ß", "50%", "a_b", `x\y`, "ǅ",
	"ẞ", "ſ", "K", "İ", "ı", "Ω", "k", "s"}

// selectValues are the choices of the multi selects tags and labels.
var selectValues = []string{"a", "A", "b", "é", "ß", "50%"}

// metaDomain holds the json field's values; null is no value.
var metaDomain = []string{`null`, `[]`, `["a","b"]`, `[1,2.5,"a"]`, `{"a":1}`, `"a"`, `3`, `[true,null,"A"]`, `[["a"]]`,
	`["é","Σ",""]`, `[0,false,-1]`, `[3,"50%","a_b"]`, `[9007199254740993,-0,1.5e300,0.1]`}

// Numbers: integer fields draw from intDomain, float fields from
// floatDomain; filters compare with numDomain.
var (
	intDomain   = []int64{-1, 0, 1, 2, 3, 5}
	floatDomain = []float64{-1, 0, 0.5, 1, 2.5, 3}
	numDomain   = []string{"-1", "0", "1", "2", "2.5", "3", "5", "0.5", "-0.5", "1e1", "9007199254740992", "0.1", "1.5e300"}
)

// filterNow is the time @now stands for; dateDomain holds instants around
// it (today's start and end among them) and dateLiterals ways of writing
// them, so equality between dates happens.
var (
	filterNow  = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	dateDomain = []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 10, 0, 0, 500e6, time.UTC),
		filterNow,
		time.Date(2026, 1, 1, 23, 59, 59, 999e6, time.UTC),
		time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC),
	}
	dateLiterals = []string{`"2026-01-01"`, `"2026-01-01 10:00:00"`, `'2026-01-01T10:00:00.500Z'`, `"2026-01-01T13:00:00+01:00"`,
		`"2026-01-02"`, `"2025-12-31 23:59:59.999"`, `@now`, `@todayStart`, `@todayEnd`}
)

// filterWorld is the differential test's data, in the store and in memory.
type filterWorld struct {
	seed   uint64
	schema *loam.Schema
	posts  *loam.Collection
	recs   map[string][]*loam.Record // per collection, in id order
	byID   map[string]map[string]*loam.Record
}

// newFilterWorld creates users, posts and comments in s and fills them
// with random records drawn with seed.
func newFilterWorld(t *testing.T, s loam.Store, seed uint64, users, posts, comments int) *filterWorld {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	uc := createCollection(t, s, &loam.Collection{Name: "users", Fields: []loam.Field{
		{Name: "name", Type: loam.TypeText},
		{Name: "age", Type: loam.TypeNumber, Integer: true},
		{Name: "score", Type: loam.TypeNumber},
		{Name: "active", Type: loam.TypeBool},
		{Name: "tags", Type: loam.TypeSelect, Multiple: true, Values: selectValues},
		{Name: "born", Type: loam.TypeDate},
	}})
	pc := createCollection(t, s, &loam.Collection{Name: "posts", Fields: []loam.Field{
		{Name: "title", Type: loam.TypeText},
		{Name: "views", Type: loam.TypeNumber, Integer: true},
		{Name: "rating", Type: loam.TypeNumber},
		{Name: "published", Type: loam.TypeBool},
		{Name: "due", Type: loam.TypeDate},
		{Name: "labels", Type: loam.TypeSelect, Multiple: true, Values: selectValues},
		{Name: "meta", Type: loam.TypeJSON},
		{Name: "author", Type: loam.TypeRelation, Collection: "users"},
		{Name: "readers", Type: loam.TypeRelation, Collection: "users", Multiple: true},
	}})
	cc := createCollection(t, s, &loam.Collection{Name: "comments", Fields: []loam.Field{
		{Name: "post", Type: loam.TypeRelation, Collection: "posts"},
		{Name: "body", Type: loam.TypeText},
		{Name: "likes", Type: loam.TypeNumber, Integer: true},
	}})
	w := &filterWorld{seed: seed, posts: pc, recs: map[string][]*loam.Record{}, byID: map[string]map[string]*loam.Record{}}
	// missing draws whether a value is left out (about one in five).
	missing := func() bool { return r.IntN(5) == 0 }
	pick := func(n int) int { return r.IntN(n) }
	text := func() string { return strconv.Quote(textDomain[pick(len(textDomain))]) }
	list := func(ids []string, max int) string {
		var out []string
		for range pick(max + 1) {
			out = append(out, strconv.Quote(ids[pick(len(ids))]))
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	date := func() string {
		return `"` + dateDomain[pick(len(dateDomain))].Format(loam.TimeLayout) + `"`
	}
	add := func(c *loam.Collection, values map[string]string) {
		t.Helper()
		data := map[string]any{}
		for name, raw := range values {
			if missing() {
				continue
			}
			v, fe := c.Field(name).Normalize(json.RawMessage(raw))
			if fe != nil {
				t.Fatalf("test bug: %s.%s = %s: %s", c.Name, name, raw, fe.Message)
			}
			if v != nil {
				data[name] = v
			}
		}
		rec := newRecord(c, data)
		rec.Created = dateDomain[pick(len(dateDomain))]
		rec.Updated = rec.Created
		if err := s.InsertRecord(t.Context(), c, rec); err != nil {
			t.Fatalf("InsertRecord into %s: %v", c.Name, err)
		}
		w.recs[c.Name] = append(w.recs[c.Name], rec)
		if w.byID[c.Name] == nil {
			w.byID[c.Name] = map[string]*loam.Record{}
		}
		w.byID[c.Name][rec.ID] = rec
	}
	for range users {
		add(uc, map[string]string{
			"name":   text(),
			"age":    strconv.FormatInt(intDomain[pick(len(intDomain))], 10),
			"score":  strconv.FormatFloat(floatDomain[pick(len(floatDomain))], 'g', -1, 64),
			"active": strconv.FormatBool(pick(2) == 0),
			"tags":   list(selectValues, 3),
			"born":   date(),
		})
	}
	userIDs := ids(w.recs["users"])
	for range posts {
		add(pc, map[string]string{
			"title":     text(),
			"views":     strconv.FormatInt(intDomain[pick(len(intDomain))], 10),
			"rating":    strconv.FormatFloat(floatDomain[pick(len(floatDomain))], 'g', -1, 64),
			"published": strconv.FormatBool(pick(2) == 0),
			"due":       date(),
			"labels":    list(selectValues, 3),
			"meta":      metaDomain[pick(len(metaDomain))],
			"author":    strconv.Quote(userIDs[pick(len(userIDs))]),
			"readers":   list(userIDs, 3),
		})
	}
	postIDs := ids(w.recs["posts"])
	for range comments {
		add(cc, map[string]string{
			"post":  strconv.Quote(postIDs[pick(len(postIDs))]),
			"body":  text(),
			"likes": strconv.FormatInt(intDomain[pick(len(intDomain))], 10),
		})
	}
	for _, recs := range w.recs {
		slices.SortFunc(recs, func(a, b *loam.Record) int { return strings.Compare(a.ID, b.ID) })
	}
	w.schema = schema(t, s)
	return w
}

// evalRecord is a loam.Record as expr.Eval reads it.
type evalRecord struct{ r *loam.Record }

func (e evalRecord) Get(field string) any {
	switch field {
	case loam.ColID:
		return e.r.ID
	case loam.ColCreated:
		return e.r.Created
	case loam.ColUpdated:
		return e.r.Updated
	}
	return e.r.Data[field]
}

// The world is the expr.Data of expr.Eval.
func (w *filterWorld) Record(collection, id string) expr.Record {
	if r := w.byID[collection][id]; r != nil {
		return evalRecord{r}
	}
	return nil
}

func (w *filterWorld) Referencing(collection, field, id string, multiple bool) []expr.Record {
	var out []expr.Record
	for _, r := range w.recs[collection] {
		switch v := r.Data[field].(type) {
		case string:
			if !multiple && v == id {
				out = append(out, evalRecord{r})
			}
		case []string:
			if multiple && slices.Contains(v, id) {
				out = append(out, evalRecord{r})
			}
		}
	}
	return out
}

func (w *filterWorld) All(collection string) []expr.Record {
	out := make([]expr.Record, len(w.recs[collection]))
	for i, r := range w.recs[collection] {
		out[i] = evalRecord{r}
	}
	return out
}

// matching returns the ids of the posts that meet c, by expr.Eval.
func (w *filterWorld) matching(c expr.Cond) []string {
	var out []string
	for _, r := range w.recs["posts"] {
		if expr.Eval(c, evalRecord{r}, w) {
			out = append(out, r.ID)
		}
	}
	return out
}

// describe shows a post with the related values filters read, for failure
// messages.
func (w *filterWorld) describe(id string) string {
	r := w.byID["posts"][id]
	if r == nil {
		return id + " (no such post)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s created=%s %s", id, r.Created.Format(loam.TimeLayout), valuesString(r))
	if a, _ := r.Data["author"].(string); a != "" {
		fmt.Fprintf(&b, "\n      author %s", valuesString(w.byID["users"][a]))
	}
	readers, _ := r.Data["readers"].([]string)
	for _, id := range readers {
		fmt.Fprintf(&b, "\n      reader %s", valuesString(w.byID["users"][id]))
	}
	for _, c := range w.recs["comments"] {
		if c.Data["post"] == id {
			fmt.Fprintf(&b, "\n      comment %s", valuesString(c))
		}
	}
	return b.String()
}

func valuesString(r *loam.Record) string {
	if r == nil {
		return "<missing>"
	}
	keys := make([]string, 0, len(r.Data))
	for k := range r.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := []string{"id=" + r.ID}
	for _, k := range keys {
		parts = append(parts, k+"="+string(loam.ValueJSON(r.Data[k])))
	}
	return strings.Join(parts, " ")
}

// ---- the filter generator ----

// genKind is the type of a generated operand.
type genKind int

const (
	gText genKind = iota
	gNumber
	gBool
	gDate
	gUserID    // ids of users (author, readers)
	gCommentID // ids of comments (comments_via_post)
	gJSON
)

// genPath is a path filters may compare.
type genPath struct {
	text  string
	kind  genKind
	multi bool // several values: the any-of family
	null  bool // may be compared with null (= null, != null)
}

var genPaths = []genPath{
	{"title", gText, false, true},
	{"title:lower", gText, false, true},
	{"id", gText, false, true},
	{"author.name", gText, false, true},
	{"author.name:lower", gText, false, true},
	{"readers.name", gText, true, false},
	{"readers.name:lower", gText, true, false},
	{"comments_via_post.body", gText, true, false},
	{"comments_via_post.body:lower", gText, true, false},
	{"@collection.users.name", gText, true, false},
	{"labels", gText, true, true},
	{"labels:lower", gText, true, false},
	{"author.tags", gText, true, true},
	{"readers.tags", gText, true, false},
	{"views", gNumber, false, true},
	{"rating", gNumber, false, true},
	{"author.age", gNumber, false, true},
	{"author.score", gNumber, false, true},
	{"labels:length", gNumber, false, true},
	{"readers:length", gNumber, false, true},
	{"meta:length", gNumber, false, true},
	{"comments_via_post:length", gNumber, false, true},
	{"author.tags:length", gNumber, false, true},
	{"readers.age", gNumber, true, false},
	{"comments_via_post.likes", gNumber, true, false},
	{"@collection.users.age", gNumber, true, false},
	{"published", gBool, false, true},
	{"author.active", gBool, false, true},
	{"readers.active", gBool, true, false},
	{"due", gDate, false, true},
	{"created", gDate, false, true},
	{"updated", gDate, false, true},
	{"author.born", gDate, false, true},
	{"readers.born", gDate, true, false},
	{"@collection.users.born", gDate, true, false},
	{"author", gUserID, false, true},
	{"readers", gUserID, true, true},
	{"comments_via_post", gCommentID, true, false},
	{"meta", gJSON, true, true},
	// Longer walks: back-relations from related records, a relation read
	// back from the records that point here, @collection through relations.
	{"author.posts_via_author.title", gText, true, false},
	{"author.posts_via_author:length", gNumber, false, true},
	{"author.posts_via_readers.views", gNumber, true, false},
	{"author.posts_via_readers:length", gNumber, false, true},
	{"readers.posts_via_author.title:lower", gText, true, false},
	{"comments_via_post.post.views", gNumber, true, false},
	{"comments_via_post.post", gText, true, false},
	{"readers.tags:lower", gText, true, false},
	{"author.tags:lower", gText, true, false},
	{"@collection.comments.post.title", gText, true, false},
	{"@collection.posts.readers.name", gText, true, false},
	{"@collection.users.posts_via_author.views", gNumber, true, false},
}

// genPairs are comparisons of two paths: the first side, the second, and
// the kind both have.
var genPairs = []struct {
	l, r string
	kind genKind
	lm   bool // the left side holds several values
	rm   bool // the right side holds several values
}{
	{"views", "author.age", gNumber, false, false},
	{"rating", "author.score", gNumber, false, false},
	{"views", "rating", gNumber, false, false},
	{"author.age", "labels:length", gNumber, false, false},
	{"title", "author.name", gText, false, false},
	{"title:lower", "author.name:lower", gText, false, false},
	{"author.name", "title", gText, false, false},
	{"due", "author.born", gDate, false, false},
	{"created", "due", gDate, false, false},
	{"published", "author.active", gBool, false, false},
	{"author", "id", gText, false, false},
	{"title", "readers.name", gText, false, true},
	{"readers.name", "author.name", gText, true, false},
	{"views", "readers.age", gNumber, false, true},
	{"@collection.users.name", "title", gText, true, false},
	{"@collection.users.age", "views", gNumber, true, false},
	{"title", "@collection.users.name:lower", gText, false, true},
	{"labels", "title", gText, true, false},
	{"author.name", "labels", gText, false, true},
	{"readers", "author", gUserID, true, false},
	{"author", "readers", gUserID, false, true},
	{"comments_via_post.body", "title", gText, true, false},
	{"due", "readers.born", gDate, false, true},
}

// filterGen writes random filters over posts.
type filterGen struct {
	r    *rand.Rand
	w    *filterWorld
	user []string
	comm []string
}

func newFilterGen(w *filterWorld, seed uint64) *filterGen {
	return &filterGen{r: rand.New(rand.NewPCG(seed, seed+1)), w: w, user: ids(w.recs["users"]), comm: ids(w.recs["comments"])}
}

func (g *filterGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// filter returns a filter nesting logic up to depth levels.
func (g *filterGen) filter(depth int) string {
	if depth == 0 || g.r.IntN(100) < 40 {
		return g.comparison()
	}
	switch n := g.r.IntN(100); {
	case n < 35:
		return g.filter(depth-1) + " && " + g.filter(depth-1)
	case n < 70:
		return g.filter(depth-1) + " || " + g.filter(depth-1)
	case n < 80:
		return "!" + g.comparison()
	case n < 90:
		return "!(" + g.filter(depth-1) + ")"
	}
	return "(" + g.filter(depth-1) + ")"
}

var (
	genOrdering = []string{"=", "!=", ">", ">=", "<", "<="}
	genText     = []string{"=", "!=", ">", ">=", "<", "<=", "~", "!~"}
	genEquality = []string{"=", "!="}
)

// ops returns the operators a kind compares with.
func ops(k genKind) []string {
	switch k {
	case gText, gUserID, gCommentID, gJSON:
		return genText
	case gBool:
		return genEquality
	}
	return genOrdering
}

// literal returns a literal of kind k.
func (g *filterGen) literal(k genKind) string {
	switch k {
	case gNumber:
		return g.pick(numDomain)
	case gBool:
		return g.pick([]string{"true", "false"})
	case gDate:
		return g.pick(dateLiterals)
	case gUserID:
		return quote(g.r, g.pick(append([]string{"", "zzzzzzzzzzzzzzz"}, g.user...)))
	case gCommentID:
		return quote(g.r, g.pick(append([]string{""}, g.comm...)))
	case gJSON:
		return g.literal([]genKind{gText, gNumber, gBool}[g.r.IntN(3)])
	}
	return quote(g.r, g.pick(textDomain))
}

// quote writes s as a string literal, in either quote style.
func quote(r *rand.Rand, s string) string {
	q := `"`
	if r.IntN(2) == 0 {
		q = `'`
	}
	s = strings.NewReplacer(`\`, `\\`, q, `\`+q).Replace(s)
	return q + s + q
}

// comparison returns one comparison.
func (g *filterGen) comparison() string {
	switch n := g.r.IntN(100); {
	case n < 15: // two paths
		p := genPairs[g.r.IntN(len(genPairs))]
		op := g.pick(ops(p.kind))
		if p.lm || p.rm || g.r.IntN(10) == 0 {
			op = "?" + op
		}
		return p.l + " " + op + " " + p.r
	case n < 25: // a value on the left
		p := genPaths[g.r.IntN(len(genPaths))]
		op := g.pick(ops(p.kind))
		if p.kind == gJSON {
			return "meta " + "?" + op + " " + g.jsonLiteral(op)
		}
		if p.multi {
			op = "?" + op
		}
		return g.literal(p.kind) + " " + op + " " + p.text
	}
	p := genPaths[g.r.IntN(len(genPaths))]
	if p.null && g.r.IntN(8) == 0 {
		return p.text + " " + g.pick(genEquality) + " null"
	}
	op := g.pick(ops(p.kind))
	if p.kind == gJSON {
		return "meta ?" + op + " " + g.jsonLiteral(op)
	}
	if p.multi || g.r.IntN(10) == 0 {
		op = "?" + op
	}
	return p.text + " " + op + " " + g.literal(p.kind)
}

// jsonLiteral returns a literal that json elements compare with by op:
// ~ needs a string.
func (g *filterGen) jsonLiteral(op string) string {
	if strings.HasSuffix(op, "~") {
		return g.literal(gText)
	}
	return g.literal(gJSON)
}
