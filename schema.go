package loam

import (
	"sort"
	"sync"
)

// Schema is an immutable snapshot of every collection at one schema version.
// The App holds the live one and swaps it whole when the schema changes.
type Schema struct {
	Version int64
	byName  map[string]*Collection
	list    []*Collection
	rules   sync.Map // ruleKey -> expr.Cond or error: rules checked against this snapshot
}

// NewSchema builds a snapshot; collections are sorted by name.
func NewSchema(version int64, cols []*Collection) *Schema {
	s := &Schema{Version: version, byName: make(map[string]*Collection, len(cols))}
	for _, c := range cols {
		s.byName[c.Name] = c
		s.list = append(s.list, c)
	}
	sort.Slice(s.list, func(i, j int) bool { return s.list[i].Name < s.list[j].Name })
	return s
}

// Collection returns the collection called name, or nil.
func (s *Schema) Collection(name string) *Collection { return s.byName[name] }

// Collections returns every collection, sorted by name. Callers must not change them.
func (s *Schema) Collections() []*Collection { return s.list }

// Reference is a relation field that points at a collection.
type Reference struct {
	Collection *Collection
	Field      *Field
}

// ReferencesTo returns the relation fields, in any collection, whose target is name.
func (s *Schema) ReferencesTo(name string) []Reference {
	var refs []Reference
	for _, c := range s.list {
		for i := range c.Fields {
			f := &c.Fields[i]
			if f.Type == TypeRelation && f.Collection == name {
				refs = append(refs, Reference{Collection: c, Field: f})
			}
		}
	}
	return refs
}
