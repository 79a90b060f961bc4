package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"loam"
)

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// idempotent makes a write route honour Idempotency-Key: the first request
// with a key runs and its answer is kept for 24 h; a retry with the same key
// (from the same caller) gets that answer back, marked Idempotent-Replayed,
// and writes nothing. A retry while the first still runs, or the key reused
// for a different request, is 409. Server errors and 401/429 answers are not
// kept, so a retry runs again.
func (s *Server) idempotent(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			h(w, r)
			return
		}
		if len(key) > maxIdempotencyKey || !printableASCII(key) {
			WriteError(w, r, loam.Errorf(loam.CodeInvalidQuery, "Idempotency-Key must be 1 to %d printable ASCII characters", maxIdempotencyKey))
			return
		}
		body, err := readBody(r)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		scope := "anonymous"
		if p := PrincipalFrom(r); p != nil && p.Record != nil {
			scope = p.Collection + "/" + p.Record.ID
		}
		k := sha256.Sum256([]byte(scope + "\x00" + key))
		reqHash := sha256.New()
		for _, part := range []string{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type")} {
			reqHash.Write([]byte(part))
			reqHash.Write([]byte{0})
		}
		reqHash.Write(body)
		prev, err := s.app.ReserveIdempotencyKey(r.Context(), k[:], reqHash.Sum(nil))
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if prev != nil {
			switch {
			case !bytes.Equal(prev.Request, reqHash.Sum(nil)):
				WriteError(w, r, loam.Errorf(loam.CodeConflict, "this Idempotency-Key was used for a different request"))
			case prev.Status == 0:
				WriteError(w, r, loam.Errorf(loam.CodeConflict, "a request with this Idempotency-Key is still running"))
			default:
				replay(w, prev)
			}
			return
		}
		rec := &recorder{ResponseWriter: w, header: map[string]string{}}
		keep := false
		defer func() {
			// Runs after a panic too (the recover middleware answers it), so
			// a key is never left reserved by a request that did not finish.
			// Not the request's context: a client that hung up must still
			// leave its key finished or released, or its retry is refused.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
			defer cancel()
			if keep {
				hdr, _ := json.Marshal(rec.header)
				if err := s.app.CompleteIdempotencyKey(ctx, k[:], rec.status, string(hdr), rec.body.Bytes()); err != nil {
					logger(r).Error("store idempotent answer", "err", err)
				}
				return
			}
			if err := s.app.ReleaseIdempotencyKey(ctx, k[:]); err != nil {
				logger(r).Error("release idempotency key", "err", err)
			}
		}()
		h(rec, r)
		keep = rec.status != 0 && rec.status < 500 && rec.status != http.StatusUnauthorized && rec.status != http.StatusTooManyRequests
	}
}

// replayedHeaders are the headers of an answer that a replay repeats.
var replayedHeaders = []string{"Content-Type", "ETag", "Location"}

func replay(w http.ResponseWriter, e *loam.IdempotencyEntry) {
	var hdr map[string]string
	_ = json.Unmarshal([]byte(e.Header), &hdr)
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	w.Write(e.Body)
}

// recorder passes an answer through while keeping a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	header map[string]string
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		for _, h := range replayedHeaders {
			if v := r.ResponseWriter.Header().Get(h); v != "" {
				r.header[h] = v
			}
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
