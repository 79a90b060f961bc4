package expr

import (
	"encoding/json"
	"strings"
	"time"
)

// Record is one record as the evaluator reads it. Get returns nil, a
// string, a number (int64 or float64), a bool, a time.Time, a []string (list
// fields) or a json.RawMessage (json fields); "id", "created" and "updated"
// included.
type Record interface {
	Get(field string) any
}

// Data finds the records a path leads to.
type Data interface {
	// Record returns the record of collection with that id, or nil.
	Record(collection, id string) Record
	// Referencing returns the records of collection whose relation field
	// holds id (a multi relation when multiple), in id order.
	Referencing(collection, field, id string, multiple bool) []Record
	// All returns every record of collection (for @collection).
	All(collection string) []Record
}

// Eval reports whether a bound condition holds for rec. It is the reference
// the SQL compilers are tested against: for every condition and record, SQL
// and Eval must agree.
func Eval(c Cond, rec Record, data Data) bool {
	switch x := c.(type) {
	case Const:
		return bool(x)
	case And:
		for _, y := range x {
			if !Eval(y, rec, data) {
				return false
			}
		}
		return true
	case Or:
		for _, y := range x {
			if Eval(y, rec, data) {
				return true
			}
		}
		return false
	case *NotCond:
		return !Eval(x.X, rec, data)
	case *Cmp:
		return evalCmp(x, rec, data)
	}
	return false
}

func evalCmp(x *Cmp, rec Record, data Data) bool {
	k := x.Op.Kind
	if p, ok := x.L.(*Path); ok && !x.Op.Any && p.Multi && p.Mod != ModLength {
		// A list or json field compared with null: does it hold nothing?
		empty := true
		for _, v := range lastValues(p, rec, data) {
			if listLen(v) > 0 || (p.Kind == KindJSON && v != nil) {
				empty = false
			}
		}
		return empty == (k == OpEq)
	}
	lv, lmulti := termValues(x.L, rec, data)
	rv, rmulti := termValues(x.R, rec, data)
	if !x.Op.Any {
		return compare(k, x.Type, lv[0], rv[0])
	}
	// Any of: one side holds several values, or one (?= on a single value).
	if rmulti && !lmulti {
		for _, r := range rv {
			if compareJSON(k, x.Type, lv[0], r) {
				return true
			}
		}
		return false
	}
	for _, l := range lv {
		if compareJSON(k, x.Type, l, rv[0]) {
			return true
		}
	}
	return false
}

// compareJSON compares a JSON array element with a value: only values of
// the element's own JSON type can match, and an empty string is a string.
// Other kinds compare as compare does.
func compareJSON(k OpKind, t Kind, a, b any) bool {
	if t != KindJSON {
		return compare(k, t, a, b)
	}
	same := false
	switch a.(type) {
	case string:
		_, same = b.(string)
	case float64:
		_, same = b.(float64)
	case bool:
		_, same = b.(bool)
	}
	if !same {
		return k.Negative()
	}
	return compareValues(k, a, b)
}

// compare applies one operator to two values. A missing value (nil, or an
// empty string, which Loam stores as no value) equals only another missing
// value; orderings and ~ are false for it, and the negative operators are
// the negations of the positive ones.
func compare(k OpKind, t Kind, a, b any) bool {
	return compareValues(k, normalize(a), normalize(b))
}

func compareValues(k OpKind, a, b any) bool {
	if k.Negative() {
		return !compareValues(k.Positive(), a, b)
	}
	if a == nil || b == nil {
		return k == OpEq && a == nil && b == nil
	}
	switch k {
	case OpLike:
		as, ok1 := a.(string)
		bs, ok2 := b.(string)
		return ok1 && ok2 && strings.Contains(Fold(as), Fold(bs))
	case OpEq:
		return order(a, b) == 0
	case OpGt:
		return order(a, b) == 1
	case OpGte:
		c := order(a, b)
		return c == 0 || c == 1
	case OpLt:
		return order(a, b) == -1
	case OpLte:
		c := order(a, b)
		return c == 0 || c == -1
	}
	return false
}

// order compares two values of one type: -1, 0 or 1; 2 when they do not
// compare (different types).
func order(a, b any) int {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return 2
		}
		return strings.Compare(x, y) // byte order is code point order in UTF-8
	case float64:
		y, ok := b.(float64)
		switch {
		case !ok:
			return 2
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case bool:
		y, ok := b.(bool)
		switch {
		case !ok:
			return 2
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		y, ok := b.(time.Time)
		if !ok {
			return 2
		}
		return x.Compare(y)
	}
	return 2
}

// termValues returns the values a term yields for rec, and whether it is
// multi-valued (then the list may be empty; otherwise it holds one value).
func termValues(t Term, rec Record, data Data) ([]any, bool) {
	switch x := t.(type) {
	case *Value:
		return []any{x.V}, false
	case *Path:
		return pathValues(x, rec, data)
	}
	return []any{nil}, false
}

// lastRecords follows a path's relations and returns the records whose field
// the last step reads.
func lastRecords(p *Path, rec Record, data Data) []Record {
	cur := []Record{rec}
	if p.Any {
		cur = meeting(data.All(p.Root), p.RootWhere, data)
	}
	last := len(p.Steps) - 1
	for _, st := range p.Steps[:last] {
		target := st.Target
		var next []Record
		for _, r := range cur {
			switch st.Via {
			case ViaField:
				if id, ok := normalize(r.Get(st.Field)).(string); ok {
					if t := data.Record(target, id); t != nil {
						next = append(next, t)
					}
				}
			case ViaList:
				ids, _ := r.Get(st.Field).([]string)
				for _, id := range ids {
					if t := data.Record(target, id); t != nil {
						next = append(next, t)
					}
				}
			case ViaBack, ViaBackList:
				id, _ := r.Get("id").(string)
				next = append(next, data.Referencing(st.Collection, st.Field, id, st.Via == ViaBackList)...)
			}
		}
		cur = meeting(next, st.Where, data)
	}
	return cur
}

// meeting keeps the records that meet where (all of them when it is nil).
func meeting(recs []Record, where Cond, data Data) []Record {
	if where == nil {
		return recs
	}
	kept := recs[:0:0]
	for _, r := range recs {
		if Eval(where, r, data) {
			kept = append(kept, r)
		}
	}
	return kept
}

// lastValues returns the values of the path's last field, as stored.
func lastValues(p *Path, rec Record, data Data) []any {
	recs := lastRecords(p, rec, data)
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = r.Get(p.Steps[len(p.Steps)-1].Field)
	}
	return out
}

func pathValues(p *Path, rec Record, data Data) ([]any, bool) {
	if p.Mod == ModLength {
		if isBackLast(p) {
			return []any{float64(len(lastRecords(p, rec, data)))}, false
		}
		n := 0
		for _, v := range lastValues(p, rec, data) {
			n = listLen(v)
		}
		return []any{float64(n)}, false
	}
	var out []any
	for _, v := range lastValues(p, rec, data) {
		if p.List {
			switch x := v.(type) {
			case []string:
				for _, s := range x {
					out = append(out, s)
				}
			case json.RawMessage:
				out = append(out, jsonElements(x)...)
			case string: // the ids of back-related records
				out = append(out, x)
			}
			continue
		}
		out = append(out, normalize(v))
	}
	if p.Mod == ModLower {
		for i, v := range out {
			if s, ok := v.(string); ok {
				out[i] = Fold(s)
			}
		}
	}
	if p.Multi {
		return out, true
	}
	if len(out) == 0 {
		return []any{nil}, false
	}
	return out[:1], false
}

// jsonElements returns the elements of a JSON array as strings, float64s,
// bools and nils; arrays and objects inside it become a value that equals
// nothing. A value that is not an array has no elements.
func jsonElements(raw json.RawMessage) []any {
	var list []any
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	for i, v := range list {
		switch v.(type) {
		case string, float64, bool, nil:
		default:
			list[i] = struct{}{}
		}
	}
	return list
}
