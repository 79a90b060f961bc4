package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"loam"
)

type ctxKey struct{}

// reqInfo is what the middleware learns about a request; it travels in the
// context as one value.
type reqInfo struct {
	id        string
	principal *loam.Principal
	log       *slog.Logger // the server's logger; request_id is added when used
}

func info(r *http.Request) *reqInfo {
	ri, _ := r.Context().Value(ctxKey{}).(*reqInfo)
	return ri
}

// PrincipalFrom returns the caller of a request, or nil when anonymous.
func PrincipalFrom(r *http.Request) *loam.Principal {
	if ri := info(r); ri != nil {
		return ri.principal
	}
	return nil
}

func requestID(r *http.Request) string {
	if ri := info(r); ri != nil {
		return ri.id
	}
	return ""
}

// logger returns a logger that tags lines with the request id.
func logger(r *http.Request) *slog.Logger {
	if ri := info(r); ri != nil {
		return ri.log.With(slog.String("request_id", ri.id))
	}
	return slog.Default()
}

// statusWriter remembers the status and size of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	size   int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-Id when it is short and plain.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// middleware wraps every route: request id, client address (through
// trusted proxies), security headers, CORS (and preflight answers),
// request log, panic recovery, body limit, authentication and the
// per-route rate limits.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ri := &reqInfo{id: id, log: s.log}
		ctx := context.WithValue(r.Context(), ctxKey{}, ri)
		snap := s.app.Settings(ctx)
		client, overTLS := clientOf(r, snap)
		if client != "" {
			ctx = loam.WithClientIP(ctx, client) // for the throttles and rate limits
		}
		r = r.WithContext(ctx)
		secureHeaders(w.Header(), overTLS)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", slog.String("request_id", id), slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					WriteError(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(ctx, level, "request", slog.String("request_id", id),
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Int("bytes", sw.size),
				slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr),
				slog.String("client", client))
		}()
		if cors(sw, r, snap) {
			return // a preflight request, answered
		}
		if r.Body != nil {
			limit := s.cfg.BodyLimit
			if r.URL.Path == batchPath {
				limit = s.cfg.BatchBodyLimit // many bodies in one
			}
			r.Body = http.MaxBytesReader(sw, r.Body, limit)
		}
		var authErr error
		if auth := r.Header.Get("Authorization"); auth != "" {
			if token, ok := strings.CutPrefix(auth, "Bearer "); !ok {
				authErr = loam.Errorf(loam.CodeUnauthenticated, "the Authorization header must be \"Bearer <token>\"")
			} else if p, err := s.app.Authenticate(ctx, token); err != nil {
				authErr = err
			} else {
				ri.principal = p
			}
		}
		// Counted whether the credentials hold or not (a refused caller
		// counts as anonymous), so bad tokens cannot get past a limit.
		if err := s.app.RateLimit(ctx, ri.principal, r.Method, r.URL.Path); err != nil {
			WriteError(sw, r, err)
			return
		}
		if authErr != nil {
			WriteError(sw, r, authErr)
			return
		}
		next.ServeHTTP(sw, r)
	})
}
