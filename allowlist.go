package loam

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Allowlist is a set of outbound hosts that outbound requests (the
// built-in job kind "http") may reach: "hooks.example.com" (any port),
// "hooks.example.com:8443" (that port), "*.example.com" (its subdomains,
// not itself), or "*" (any host). Names compare without regard to case.
type Allowlist struct {
	any     bool
	entries []hostEntry
}

type hostEntry struct {
	host, port string
	wildcard   bool // host is a domain whose subdomains match
}

// ParseAllowlist reads allowlist entries; an empty entry, or one with a
// scheme, a path or a bad port, is an error.
func ParseAllowlist(entries []string) (*Allowlist, error) {
	a := &Allowlist{}
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "*" {
			a.any = true
			continue
		}
		if e == "" || strings.ContainsAny(e, "/@?#") {
			return nil, fmt.Errorf("outbound host %q: want a host name, host:port or *.domain", e)
		}
		h := hostEntry{host: e}
		if host, port, err := net.SplitHostPort(e); err == nil {
			h.host, h.port = host, port
		} else if strings.Count(e, ":") > 1 || strings.HasSuffix(e, "]") {
			h.host = strings.Trim(e, "[]") // a bare IPv6 address
		}
		if h.port != "" && !allDigits(h.port) {
			return nil, fmt.Errorf("outbound host %q: bad port", e)
		}
		if rest, ok := strings.CutPrefix(h.host, "*."); ok {
			h.host, h.wildcard = rest, true
		}
		if h.host == "" || strings.Contains(h.host, "*") {
			return nil, fmt.Errorf("outbound host %q: want a host name, host:port or *.domain", e)
		}
		a.entries = append(a.entries, h)
	}
	return a, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Allows reports whether a request may go to u.
func (a *Allowlist) Allows(u *url.URL) bool {
	if a == nil {
		return false
	}
	if a.any {
		return true
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, e := range a.entries {
		if e.port != "" && e.port != port {
			continue
		}
		if host == e.host && !e.wildcard || e.wildcard && strings.HasSuffix(host, "."+e.host) {
			return true
		}
	}
	return false
}
