package loam

import (
	"context"
	"fmt"
	"loam/expr"
	"strings"
)

// Limits of the expand parameter (API.md).
const (
	// MaxExpandDepth is the longest expand path, in relations.
	MaxExpandDepth = 6
	// MaxExpandRelations is the most relations one request may expand, all
	// paths together: each costs one query.
	MaxExpandRelations = 32
	// MaxBackRelations is the most records a back-relation expands to for
	// one record: its first ones by id.
	MaxBackRelations = 1000
)

// maxPathName is the longest name in an expand or fields path: a
// back-relation name is two names joined by "_via_".
const maxPathName = 2*MaxNameLength + len(viaSep)

const viaSep = "_via_"

// ExpandNode is one relation of a parsed expand parameter: which records it
// brings and the relations expanded inside them.
type ExpandNode struct {
	// Name is the key of the records under "expand": the relation field's
	// name, or <collection>_via_<field> for a back-relation.
	Name string
	// Collection holds the records the relation brings.
	Collection *Collection
	// Field is the relation field: of the parent's collection for a forward
	// relation, of Collection for a back-relation. Nil when Denied.
	Field *Field
	// Back marks a back-relation: the records of Collection whose Field
	// points at the parent.
	Back bool
	// Denied marks a relation into a collection whose view rule refuses the
	// caller: it is left out of answers, and what the request names inside
	// it is not checked, so errors never describe that collection.
	Denied bool
	// Children are the relations expanded inside this node's records.
	Children []*ExpandNode
}

// Many reports whether the node's records render as a list: a multi
// relation or a back-relation.
func (n *ExpandNode) Many() bool { return n.Back || (n.Field != nil && n.Field.Multiple) }

func findNode(nodes []*ExpandNode, name string) *ExpandNode {
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// mayView reports whether who may view records of c: superusers always,
// others unless the view rule is null (an expression rule then picks the
// records, when they are read).
func mayView(who *Principal, c *Collection) bool {
	return who.IsSuperuser() || c.Rules.View != nil
}

// ParseExpand parses an expand parameter ("author,comments_via_post.author")
// for a read of c, checking every name against the schema s as who may see
// it, and returns the relations as a tree in the order they are first named.
// An empty spec expands nothing. Unknown relations, fields that are not
// relations, back-relations that do not point at their parent, paths deeper
// than MaxExpandDepth, more than MaxExpandRelations relations and malformed
// lists are invalid_query. Hidden relation fields are unknown to
// non-superusers.
func ParseExpand(s *Schema, c *Collection, who *Principal, spec string) ([]*ExpandNode, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	var roots []*ExpandNode
	count := 0
	for _, path := range strings.Split(spec, ",") {
		path = strings.TrimSpace(path)
		segs, err := splitPath("expand", path, false)
		if err != nil {
			return nil, err
		}
		if len(segs) > MaxExpandDepth {
			return nil, Errorf(CodeInvalidQuery, "expand %q is %d relations deep; at most %d", truncate(path, 200), len(segs), MaxExpandDepth)
		}
		nodes, coll := &roots, c
		for _, seg := range segs {
			n := findNode(*nodes, seg)
			if n == nil {
				if n, err = relation(s, coll, who, seg, path); err != nil {
					return nil, err
				}
				if count++; count > MaxExpandRelations {
					return nil, Errorf(CodeInvalidQuery, "expand names more than %d relations", MaxExpandRelations)
				}
				*nodes = append(*nodes, n)
			}
			if n.Denied {
				break // left out; the rest of the path is not checked
			}
			nodes, coll = &n.Children, n.Collection
		}
	}
	return roots, nil
}

// relation resolves one name of an expand path on records of c: a relation
// field of c, or else a back-relation <collection>_via_<field>. Names with
// "_via_" in them are tried at every place it occurs.
func relation(s *Schema, c *Collection, who *Principal, name, path string) (*ExpandNode, error) {
	super := who.IsSuperuser()
	if f := c.Field(name); f != nil && (super || !f.Hidden) {
		if f.Type != TypeRelation {
			return nil, Errorf(CodeInvalidQuery, "expand %q: %s.%s is a %s field, not a relation", truncate(path, 200), c.Name, name, f.Type)
		}
		target := s.Collection(f.Collection)
		if target == nil {
			return nil, Errorf(CodeInvalidQuery, "expand %q: the collection %s.%s points at is gone", truncate(path, 200), c.Name, name)
		}
		return &ExpandNode{Name: name, Collection: target, Field: f, Denied: !mayView(who, target)}, nil
	}
	var problem string
	for i := 0; ; {
		j := strings.Index(name[i:], viaSep)
		if j < 0 {
			break
		}
		i += j
		colName, fieldName := name[:i], name[i+len(viaSep):]
		i++
		rc := s.Collection(colName)
		switch {
		case rc == nil:
			problem = fmt.Sprintf("there is no collection %q", colName)
			continue
		case !mayView(who, rc):
			// Whatever the rest names, the caller learns nothing about rc.
			return &ExpandNode{Name: name, Collection: rc, Back: true, Denied: true}, nil
		}
		rf := rc.Field(fieldName)
		switch {
		case rf == nil || (rf.Hidden && !super):
			problem = fmt.Sprintf("%s has no field %q", rc.Name, fieldName)
		case rf.Type != TypeRelation || rf.Collection != c.Name:
			problem = fmt.Sprintf("%s.%s is not a relation to %s", rc.Name, fieldName, c.Name)
		default:
			return &ExpandNode{Name: name, Collection: rc, Field: rf, Back: true}, nil
		}
	}
	if problem != "" {
		return nil, Errorf(CodeInvalidQuery, "expand %q: back-relation %q: %s", truncate(path, 200), name, problem)
	}
	return nil, Errorf(CodeInvalidQuery, "expand %q: %s has no relation field %q (nor a back-relation <collection>_via_<field>)",
		truncate(path, 200), c.Name, name)
}

// splitPath splits one entry of an expand or fields list at its dots and
// checks each name; fields paths may end with "*".
func splitPath(param, path string, star bool) ([]string, error) {
	if path == "" {
		return nil, Errorf(CodeInvalidQuery, "%s has an empty entry; separate names with single commas", param)
	}
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		switch {
		case seg == "":
			return nil, Errorf(CodeInvalidQuery, "%s %q has an empty name; join names with single dots", param, truncate(path, 200))
		case star && seg == "*":
			if i != len(segs)-1 {
				return nil, Errorf(CodeInvalidQuery, "%s %q: * selects every key of its level and must come last", param, truncate(path, 200))
			}
		case strings.Contains(seg, ":"):
			return nil, Errorf(CodeInvalidQuery, "%s %q: modifiers (such as :excerpt) are not supported", param, truncate(path, 200))
		case len(seg) > maxPathName || !identRe.MatchString(seg):
			return nil, Errorf(CodeInvalidQuery, "%s %q: %q is not a name", param, truncate(path, 200), truncate(seg, 80))
		}
	}
	return segs, nil
}

// Fields is a parsed fields parameter: which keys of a record an answer
// holds. A nil *Fields selects every key.
type Fields struct {
	// All is "*": every key of this level that Keys does not name.
	All bool
	// Keys are the keys named at this level; a nil value selects the key
	// whole, another the given keys inside it ("expand", and the relations
	// under it).
	Keys map[string]*Fields
}

// Pick reports whether key is selected, and what inside it: nil is all of it.
func (f *Fields) Pick(key string) (bool, *Fields) {
	if f == nil {
		return true, nil
	}
	if sub, ok := f.Keys[key]; ok {
		return true, sub
	}
	return f.All, nil
}

// whole selects key whole, which wins over any selection inside it.
func (f *Fields) whole(key string) {
	if f.Keys == nil {
		f.Keys = map[string]*Fields{}
	}
	f.Keys[key] = nil
}

// inside returns the selection inside key, creating it; nil when key is
// already selected whole.
func (f *Fields) inside(key string) *Fields {
	if sub, ok := f.Keys[key]; ok {
		return sub
	}
	if f.Keys == nil {
		f.Keys = map[string]*Fields{}
	}
	sub := &Fields{}
	f.Keys[key] = sub
	return sub
}

// ParseFields parses a fields parameter ("id,title,expand.author.name",
// "*,expand.author.name") for records of c expanded with nodes, as who may
// see them. "*" selects every key of its level that is not named more
// precisely. An empty spec selects everything (nil). Unknown keys, hidden
// fields for non-superusers, passwords, "expand" keys of relations that are
// not expanded, parts of keys that have none and malformed lists are
// invalid_query. Inside a Denied relation nothing is checked.
func ParseFields(c *Collection, nodes []*ExpandNode, who *Principal, spec string) (*Fields, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	root := &Fields{}
	for _, path := range strings.Split(spec, ",") {
		path = strings.TrimSpace(path)
		segs, err := splitPath("fields", path, true)
		if err != nil {
			return nil, err
		}
		if err := root.addRecordPath(c, nodes, who.IsSuperuser(), segs, path); err != nil {
			return nil, err
		}
	}
	return root, nil
}

// addRecordPath adds the path segs to a selection of the keys of a record of c.
func (f *Fields) addRecordPath(c *Collection, nodes []*ExpandNode, super bool, segs []string, path string) error {
	key, rest := segs[0], segs[1:]
	switch key {
	case "*":
		f.All = true
		return nil
	case "expand":
		if len(nodes) == 0 {
			return Errorf(CodeInvalidQuery, "fields %q: nothing is expanded in %s records; name the relations in expand", truncate(path, 200), c.Name)
		}
		if len(rest) == 0 {
			f.whole(key)
			return nil
		}
		if sub := f.inside(key); sub != nil {
			return sub.addExpandPath(nodes, super, rest, path)
		}
		return nil
	case ColID, "collectionName", ColCreated, ColUpdated:
	default:
		fld := c.Field(key)
		switch {
		case fld == nil || (fld.Hidden && !super):
			return Errorf(CodeInvalidQuery, "fields %q: %s has no field %q", truncate(path, 200), c.Name, key)
		case fld.Type == TypePassword:
			return Errorf(CodeInvalidQuery, "fields %q: %s.%s is never returned", truncate(path, 200), c.Name, key)
		}
	}
	if len(rest) > 0 {
		return Errorf(CodeInvalidQuery, "fields %q: %s.%s has no keys to select inside it; name it whole", truncate(path, 200), c.Name, key)
	}
	f.whole(key)
	return nil
}

// addExpandPath adds the path segs to a selection of the keys of an expand object.
func (f *Fields) addExpandPath(nodes []*ExpandNode, super bool, segs []string, path string) error {
	key, rest := segs[0], segs[1:]
	if key == "*" {
		f.All = true
		return nil
	}
	n := findNode(nodes, key)
	if n == nil {
		return Errorf(CodeInvalidQuery, "fields %q: %q is not expanded; name it in expand", truncate(path, 200), key)
	}
	if len(rest) == 0 || n.Denied {
		f.whole(key)
		return nil
	}
	if sub := f.inside(key); sub != nil {
		return sub.addRecordPath(n.Collection, n.Children, super, rest, path)
	}
	return nil
}

// ReadOptions shape the records of an answer: the relations to expand and
// the keys to render.
type ReadOptions struct {
	Expand []*ExpandNode
	// Fields is nil when every key is rendered.
	Fields *Fields
}

// ParseReadOptions parses the expand and fields parameters of a request on
// c against the live schema, as who may see it. It returns nil when both are
// empty. rule is the rule of the request's own action on c (c.Rules.List
// for a list, c.Rules.Create for a create, ...): when it refuses who,
// ParseReadOptions returns nil and no error, and the service the request
// calls next answers the refusal, so that errors never describe a collection
// to a caller who may not use it.
func (a *App) ParseReadOptions(who *Principal, c *Collection, rule *string, expand, fields string) (*ReadOptions, error) {
	if strings.TrimSpace(expand) == "" && strings.TrimSpace(fields) == "" {
		return nil, nil
	}
	if !who.IsSuperuser() && rule == nil {
		return nil, nil
	}
	nodes, err := ParseExpand(a.Schema(), c, who, expand)
	if err != nil {
		return nil, err
	}
	if err := keyMayExpand(who, nodes); err != nil {
		return nil, err
	}
	f, err := ParseFields(c, nodes, who, fields)
	if err != nil {
		return nil, err
	}
	return &ReadOptions{Expand: nodes, Fields: f}, nil
}

// ExpandRecords sets the Expand of recs (records of the collection nodes
// were parsed for) to the related records nodes name, and so on down the
// tree. It costs one store query per node that has anything to look up,
// however many records there are. Relations into collections whose view
// rule refuses who are left out. Forward relations keep the order of the
// relation's ids and leave out missing targets; back-relations list their
// records by id, at most MaxBackRelations per record.
func (a *App) ExpandRecords(ctx context.Context, who *Principal, recs []*Record, nodes []*ExpandNode) error {
	for _, n := range nodes {
		if n.Denied || len(recs) == 0 {
			continue
		}
		if err := who.inScope(n.Collection.Name, ScopeView); err != nil {
			return err // expanding reads the target: the key must allow viewing it
		}
		view, err := a.ruleCond(who, n.Collection, n.Collection.Rules.View, "", envOf(who, "GET", nil))
		if err != nil {
			continue // the view rule refuses who: the relation is left out
		}
		related, err := a.expandNode(ctx, recs, n, view)
		if err != nil {
			return err
		}
		a.withholdEmails(ctx, who, n.Collection, related)
		if len(n.Children) > 0 && len(related) > 0 {
			if err := a.ExpandRecords(ctx, who, related, n.Children); err != nil {
				return err
			}
		}
	}
	return nil
}

// expandNode reads the records of one node for every parent, sets them in
// the parents' Expand, and returns them (each once).
func (a *App) expandNode(ctx context.Context, parents []*Record, n *ExpandNode, view expr.Cond) ([]*Record, error) {
	set := func(p *Record, list []*Record) {
		if p.Expand == nil {
			p.Expand = map[string][]*Record{}
		}
		p.Expand[n.Name] = list
	}
	if n.Back {
		ids := make([]string, 0, len(parents))
		byID := make(map[string]*Record, len(parents))
		for _, p := range parents {
			if byID[p.ID] == nil {
				ids = append(ids, p.ID)
				byID[p.ID] = p
			}
			set(p, nil) // present, so that an empty list renders as []
		}
		related, err := a.records(ctx).RecordsWhereIn(ctx, n.Collection, n.Field.Name, ids, MaxBackRelations, view)
		if err != nil {
			return nil, fmt.Errorf("expand %s: %w", n.Name, err)
		}
		for _, r := range related {
			for _, id := range relationIDs(r.Data[n.Field.Name]) {
				if p := byID[id]; p != nil && len(p.Expand[n.Name]) < MaxBackRelations {
					p.Expand[n.Name] = append(p.Expand[n.Name], r)
				}
			}
		}
		return related, nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, p := range parents {
		for _, id := range relationIDs(p.Data[n.Field.Name]) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	related, err := a.records(ctx).RecordsWhereIn(ctx, n.Collection, ColID, ids, 0, view)
	if err != nil {
		return nil, fmt.Errorf("expand %s: %w", n.Name, err)
	}
	byID := make(map[string]*Record, len(related))
	for _, r := range related {
		byID[r.ID] = r
	}
	for _, p := range parents {
		var list []*Record
		for _, id := range relationIDs(p.Data[n.Field.Name]) {
			if r := byID[id]; r != nil {
				list = append(list, r)
			}
		}
		if list != nil || n.Many() {
			set(p, list)
		}
	}
	return related, nil
}

// relationIDs returns the ids a relation value holds.
func relationIDs(v any) []string {
	switch x := v.(type) {
	case string:
		if x != "" {
			return []string{x}
		}
	case []string:
		return x
	}
	return nil
}

// keyMayExpand checks, before anything is written, that who's API key (if
// any) allows viewing every collection an expand reads.
func keyMayExpand(who *Principal, nodes []*ExpandNode) error {
	for _, n := range nodes {
		if err := who.inScope(n.Collection.Name, ScopeView); err != nil {
			return err
		}
		if err := keyMayExpand(who, n.Children); err != nil {
			return err
		}
	}
	return nil
}
