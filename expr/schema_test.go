package expr

import (
	"fmt"
	"strings"
	"time"
)

// testSchema is a small schema for the checker's and evaluator's tests:
//
//	users    name, age (integer), score, active, tags (multi select), born
//	         (date), org -> orgs, note (hidden), password
//	orgs     name
//	posts    title, views (integer), rating, published, due, labels (multi
//	         select), meta (json), author -> users, readers ->> users
//	comments post -> posts, body, likes (integer)
type testSchema map[string]map[string]Field

var schema = testSchema{
	"users": {
		"name": {Kind: KindText}, "age": {Kind: KindNumber, Integer: true}, "score": {Kind: KindNumber},
		"active": {Kind: KindBool}, "tags": {Kind: KindText, Multiple: true}, "born": {Kind: KindDate},
		"org": {Kind: KindRelation, Target: "orgs"}, "note": {Kind: KindText, Hidden: true},
		"password": {Kind: KindSecret},
	},
	"orgs": {"name": {Kind: KindText}},
	"posts": {
		"title": {Kind: KindText}, "views": {Kind: KindNumber, Integer: true}, "rating": {Kind: KindNumber},
		"published": {Kind: KindBool}, "due": {Kind: KindDate}, "labels": {Kind: KindText, Multiple: true},
		"meta": {Kind: KindJSON}, "author": {Kind: KindRelation, Target: "users"},
		"readers": {Kind: KindRelation, Target: "users", Multiple: true},
	},
	"comments": {
		"post": {Kind: KindRelation, Target: "posts"}, "body": {Kind: KindText},
		"likes": {Kind: KindNumber, Integer: true},
	},
}

func (s testSchema) Field(collection, name string) (Field, bool) {
	fields, ok := s[collection]
	if !ok {
		return Field{}, false
	}
	switch name {
	case "id":
		return Field{Kind: KindText}, true
	case "created", "updated":
		return Field{Kind: KindDate}, true
	}
	f, ok := fields[name]
	return f, ok
}

// condString renders a checked or bound condition as an S-expression, for
// golden tests: paths show their name and, after a slash, * when they hold
// several values, [] when their last field is a list, # for whole numbers;
// the comparison ends with the type both sides compare as.
func condString(c Cond) string {
	switch x := c.(type) {
	case And:
		return "(and " + condList(x) + ")"
	case Or:
		return "(or " + condList(x) + ")"
	case *NotCond:
		return "(not " + condString(x.X) + ")"
	case Const:
		return fmt.Sprint(bool(x))
	case *Cmp:
		return "(" + x.Op.String() + " " + termString(x.L) + " " + termString(x.R) + " " + x.Type.String() + ")"
	}
	return fmt.Sprintf("?%T", c)
}

func condList[T ~[]Cond](cs T) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = condString(c)
	}
	return strings.Join(parts, " ")
}

func termString(t Term) string {
	switch x := t.(type) {
	case *Path:
		s := x.Name + x.Mod.String()
		flags := ""
		if x.Multi {
			flags += "*"
		}
		if x.List {
			flags += "[]"
		}
		if x.Integer {
			flags += "#"
		}
		if flags != "" {
			s += "/" + flags
		}
		return s
	case *Param:
		return "@" + x.Name + x.Mod.String()
	case *Value:
		switch v := x.V.(type) {
		case nil:
			return "null"
		case string:
			return fmt.Sprintf("%q", v)
		case time.Time:
			return v.Format(time.RFC3339Nano)
		}
		return fmt.Sprint(x.V)
	}
	return fmt.Sprintf("?%T", t)
}
