package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"loam"
)

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// idempotent makes a write route honour Idempotency-Key: the first request
// with a key runs and its answer is kept for 24 h; a retry with the same key
// (from the same caller) gets that answer back, marked Idempotent-Replayed,
// and writes nothing. The key reused for a different request is 409.
// Server errors and 401/429 answers are not kept, so a retry runs again.
//
// The key, the write and the kept answer commit in one transaction, and
// the answer leaves only after that commit. A process that dies mid-request
// leaves neither a write nor a key, so the client's retry runs once more
// and is the only write; a retry racing the first request waits for it to
// commit and then gets its answer. An answer of 400 or more undoes what the
// handler wrote (a savepoint) but is still kept.
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
		sum := reqHash.Sum(nil)
		rec := newRecorder()
		var prev *loam.IdempotencyEntry
		err = s.app.InTx(r.Context(), func(ctx context.Context) error {
			var err error
			if prev, err = s.app.ReserveIdempotencyKey(ctx, k[:], sum); err != nil || prev != nil {
				return err
			}
			err = s.app.Savepoint(ctx, func(ctx context.Context) error {
				h(rec, r.WithContext(ctx))
				if rec.status == 0 || rec.status >= 400 {
					return errRefused
				}
				return nil
			})
			if err != nil && !errors.Is(err, errRefused) {
				return err
			}
			if rec.status == 0 || rec.status >= 500 || rec.status == http.StatusUnauthorized || rec.status == http.StatusTooManyRequests {
				return errRefused // not kept: the retry runs again
			}
			hdr, _ := json.Marshal(rec.kept())
			return s.app.CompleteIdempotencyKey(ctx, k[:], rec.status, string(hdr), rec.body.Bytes())
		})
		switch {
		case err != nil && !errors.Is(err, errRefused):
			WriteError(w, r, err)
		case prev == nil:
			rec.flush(w)
		case !bytes.Equal(prev.Request, sum):
			WriteError(w, r, loam.Errorf(loam.CodeConflict, "this Idempotency-Key was used for a different request"))
		case prev.Status == 0: // left by a version that reserved keys before the write
			WriteError(w, r, loam.Errorf(loam.CodeConflict, "a request with this Idempotency-Key is still running"))
		default:
			replay(w, prev)
		}
	}
}

// errRefused rolls back the transaction (or the savepoint) of a request
// whose answer is not a success.
var errRefused = errors.New("the request was refused")

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

// recorder holds an answer until its transaction has committed.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(b)
}

// kept returns the headers a replay repeats.
func (r *recorder) kept() map[string]string {
	out := map[string]string{}
	for _, h := range replayedHeaders {
		if v := r.header.Get(h); v != "" {
			out[h] = v
		}
	}
	return out
}

// flush sends the held answer.
func (r *recorder) flush(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
