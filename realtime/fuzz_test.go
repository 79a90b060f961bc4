package realtime

import (
	"errors"
	"strings"
	"testing"

	"loam"
)

// FuzzParseSpec: a subscription from the query either parses into a
// collection name and an empty or valid record id, or is invalid_query;
// never a panic.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"posts", "posts/abcdefghijklmno", "posts/", "/x", "a/b/c", "", "posts/ABC", "é/abcdefghijklmno"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			var e *loam.Error
			if !errors.As(err, &e) || e.Code != loam.CodeInvalidQuery {
				t.Fatalf("ParseSpec(%q): %v, want invalid_query", s, err)
			}
			return
		}
		if sp.Collection == "" || (sp.ID != "" && !loam.ValidID(sp.ID)) || strings.Contains(sp.Collection, "/") && sp.ID != "" {
			t.Fatalf("ParseSpec(%q) = %+v", s, sp)
		}
	})
}
