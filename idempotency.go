package loam

import (
	"context"
	"time"
)

// Idempotency keys are kept for IdempotencyTTL; a first request that never
// finished (its process died) stops blocking retries after IdempotencyAbandon.
const (
	IdempotencyTTL     = 24 * time.Hour
	IdempotencyAbandon = 2 * time.Minute
)

// ReserveIdempotencyKey claims key (already scoped to the caller and hashed)
// for a request whose hash is request. It returns nil when the caller should
// run the request, or the entry of the first request with that key: still
// running (Status 0) or finished (its answer, to replay).
func (a *App) ReserveIdempotencyKey(ctx context.Context, key, request []byte) (*IdempotencyEntry, error) {
	now := Now()
	return a.store.ReserveIdempotency(ctx, &IdempotencyEntry{Key: key, Request: request, Created: now},
		now.Add(-IdempotencyTTL), now.Add(-IdempotencyAbandon))
}

// CompleteIdempotencyKey stores the answer to replay for a reserved key.
func (a *App) CompleteIdempotencyKey(ctx context.Context, key []byte, status int, header string, body []byte) error {
	return a.store.CompleteIdempotency(ctx, key, status, header, body)
}

// ReleaseIdempotencyKey forgets a reserved key, so a retry runs again.
func (a *App) ReleaseIdempotencyKey(ctx context.Context, key []byte) error {
	return a.store.ReleaseIdempotency(ctx, key)
}
