package api

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"loam"
)

// The security headers of every answer. JSON needs no script, style,
// frame or form: the default policy allows nothing, and no site may frame
// an answer. The docs page sets its own policy (docsPolicy).
const (
	defaultPolicy  = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	referrerPolicy = "no-referrer"
	// hstsPolicy is sent only on answers to requests that came over TLS:
	// two years, subdomains included.
	hstsPolicy = "max-age=63072000; includeSubDomains"
)

// CORS answers: the methods and request headers a browser may use from an
// allowed origin, the answer headers its scripts may read, and how long
// (seconds) it may keep a preflight's answer (browsers cap it at 2 hours).
const (
	corsMethods       = "GET, HEAD, POST, PATCH, PUT, DELETE"
	corsHeaders       = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-Id"
	corsExposeHeaders = "ETag, Location, Retry-After, X-Request-Id, Idempotent-Replayed"
	corsMaxAge        = 7200
)

// secureHeaders sets the security headers every answer carries.
func secureHeaders(h http.Header, overTLS bool) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", referrerPolicy)
	h.Set("Content-Security-Policy", defaultPolicy)
	if overTLS {
		h.Set("Strict-Transport-Security", hstsPolicy)
	}
}

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// clientOf returns the client address of r (through trusted proxies only,
// see SettingsSnapshot.ClientIP) and whether r came over TLS: directly, or
// to a trusted proxy that says so in X-Forwarded-Proto.
func clientOf(r *http.Request, snap *loam.SettingsSnapshot) (client string, overTLS bool) {
	overTLS = r.TLS != nil
	peer, ok := peerAddr(r)
	if !ok {
		return "", overTLS
	}
	if !snap.TrustedProxy(peer) {
		return peer.String(), overTLS
	}
	if !overTLS {
		// The proxy nearest to us wrote the last value.
		protos := r.Header.Values("X-Forwarded-Proto")
		if n := len(protos); n > 0 {
			last := protos[n-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			overTLS = strings.EqualFold(strings.TrimSpace(last), "https")
		}
	}
	return snap.ClientIP(peer, r.Header.Values("X-Forwarded-For")).String(), overTLS
}

// cors sets the CORS headers of an answer to r, and answers a preflight
// request itself (true): 204, with the Access-Control-Allow-* headers when
// the origin is allowed and none when it is not, so the browser refuses.
func cors(w http.ResponseWriter, r *http.Request, snap *loam.SettingsSnapshot) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != ""
	allow, credentials := snap.CORSOrigin(origin)
	if allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
		if credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if !preflight {
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}
	}
	if !preflight {
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	if allow != "" {
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}
