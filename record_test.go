package loam

import "testing"

func TestStorableJSON(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"a":[1,2.5,-3e10,"x"]}`, true},
		{`"\\u0000"`, true}, // a backslash then u0000: text, no NUL
		{`"\u0000"`, false},
		{`{"k\u0000":1}`, false},
		{`"\ud83d\ude00"`, true}, // a surrogate pair
		{`"\ud800"`, false},
		{`"\udc00x"`, false},
		{`"\ud800\u0041"`, false},
		{`1e400`, false},
		{`[-1e-400]`, false}, // underflows: PostgreSQL's numeric refuses -1e-1000000
		{`[0e-400, 0.0]`, true},
		{`"1e400"`, true}, // a string, not a number
		{`"a\"1e400"`, true},
	} {
		if got := storableJSON([]byte(tc.in)) == ""; got != tc.ok {
			t.Errorf("storableJSON(%s) ok = %v, want %v", tc.in, got, tc.ok)
		}
	}
}
