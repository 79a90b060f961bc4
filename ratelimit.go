package loam

import (
	"context"
	"strings"
	"time"
)

// rateRule is a RateLimit, parsed.
type rateRule struct {
	method string   // "" for any
	segs   []string // the path's segments; "*" matches any one
	max    int
	window time.Duration
	by     string
	id     []byte // what its counters are keyed by: route, window and key kind
}

// ruleError is a problem with one member of a rate limit.
type ruleError struct{ member, code, msg string }

var rateMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// compileRateLimit checks and parses one rate limit.
func compileRateLimit(rl RateLimit) (rateRule, *ruleError) {
	r := rateRule{max: rl.Max, by: rl.By}
	route := strings.TrimSpace(rl.Route)
	path := route
	if m, p, ok := strings.Cut(route, " "); ok {
		r.method, path = m, strings.TrimSpace(p)
		valid := false
		for _, x := range rateMethods {
			valid = valid || x == m
		}
		if !valid {
			return r, &ruleError{"route", FieldInvalid, "the method must be one of " + strings.Join(rateMethods, ", ")}
		}
	}
	if !strings.HasPrefix(path, "/") || len(path) > 512 || strings.ContainsAny(path, " ?#\r\n") {
		return r, &ruleError{"route", FieldInvalid, `must be "METHOD /path" or "/path", a segment * matching any one`}
	}
	r.segs = strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, s := range r.segs {
		if s == "" && len(r.segs) > 1 || strings.Contains(s, "*") && s != "*" {
			return r, &ruleError{"route", FieldInvalid, "a segment is a name or *, never empty"}
		}
	}
	switch {
	case rl.Max < 1:
		return r, &ruleError{"max", FieldTooSmall, "must be at least 1"}
	case rl.Max > 1_000_000:
		return r, &ruleError{"max", FieldTooLarge, "must be at most 1000000"}
	}
	w, err := time.ParseDuration(rl.Window)
	switch {
	case err != nil:
		return r, &ruleError{"window", FieldInvalid, `must be a duration such as "30s", "1m" or "1h"`}
	case w < minRateWindow:
		return r, &ruleError{"window", FieldTooSmall, "must be at least 1s"}
	case w > maxRateWindow:
		return r, &ruleError{"window", FieldTooLarge, "must be at most 24h"}
	case w%time.Second != 0:
		return r, &ruleError{"window", FieldInvalid, "must be whole seconds"}
	}
	r.window = w
	if rl.By != RateByIP && rl.By != RateByAuth {
		return r, &ruleError{"by", FieldInvalidChoice, "must be ip or auth"}
	}
	r.id = throttleKey("rate", r.method, strings.Join(r.segs, "/"), w.String(), r.by)
	return r, nil
}

// matches reports whether the rule covers a request.
func (r *rateRule) matches(method, path string) bool {
	if method == "HEAD" {
		method = "GET"
	}
	if r.method != "" && r.method != method {
		return false
	}
	path = strings.TrimPrefix(path, "/")
	for i, seg := range r.segs {
		var cur string
		var ok bool
		cur, path, ok = strings.Cut(path, "/")
		if !ok && i < len(r.segs)-1 || seg != "*" && seg != cur || seg == "*" && cur == "" {
			return false
		}
		if !ok {
			path = "\x00" // no more segments
		}
	}
	return path == "\x00"
}

// RateLimit counts a request against the rate limits of the settings that
// cover it, in the database, so the limits hold across every instance;
// one over its limit is a rate_limited *Error with RetryAfter. A request
// no rule covers costs no database round trip. The client address comes
// from the context (WithClientIP); who is the caller, nil when anonymous.
func (a *App) RateLimit(ctx context.Context, who *Principal, method, path string) error {
	snap := a.Settings(ctx)
	var counters []counter
	for i := range snap.c.limits {
		r := &snap.c.limits[i]
		if !r.matches(method, path) {
			continue
		}
		by := "ip:" + clientIP(ctx)
		if r.by == RateByAuth && who != nil && who.Record != nil {
			by = "auth:" + who.Collection + "/" + who.Record.ID
		}
		counters = append(counters, counter{key: throttleKey(string(r.id), by), limit: r.max, window: r.window})
	}
	if len(counters) == 0 {
		return nil
	}
	return a.hit(ctx, "requests", counters...)
}
