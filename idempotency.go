package loam

import (
	"context"
	"errors"
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
	s, err := a.idempotency(ctx)
	if err != nil {
		return nil, err
	}
	return s.ReserveIdempotency(ctx, &IdempotencyEntry{Key: key, Request: request, Created: now},
		now.Add(-IdempotencyTTL), now.Add(-IdempotencyAbandon))
}

// CompleteIdempotencyKey stores the answer to replay for a reserved key.
func (a *App) CompleteIdempotencyKey(ctx context.Context, key []byte, status int, header string, body []byte) error {
	s, err := a.idempotency(ctx)
	if err != nil {
		return err
	}
	return s.CompleteIdempotency(ctx, key, status, header, body)
}

// idempotency returns the store keys are kept through for ctx: the
// transaction ctx carries (App.InTx), so that a key's answer commits with
// the write it answers, or the app's store.
func (a *App) idempotency(ctx context.Context) (IdempotencyStore, error) {
	tx, ok := ctx.Value(txKey{a}).(RecordStore)
	if !ok {
		return a.store, nil
	}
	s, ok := tx.(IdempotencyStore)
	if !ok {
		return nil, errors.New("the transaction's store does not keep idempotency keys")
	}
	return s, nil
}

// savepointer is a transaction's store that can undo part of it.
type savepointer interface {
	Savepoint(ctx context.Context, fn func() error) error
}

// Savepoint runs fn inside the transaction ctx carries (see InTx) so that,
// when fn returns an error, what it wrote is undone while the transaction
// goes on. Outside a transaction it is an error.
func (a *App) Savepoint(ctx context.Context, fn func(ctx context.Context) error) error {
	tx, ok := ctx.Value(txKey{a}).(RecordStore)
	if !ok {
		return errors.New("savepoint: no transaction")
	}
	sp, ok := tx.(savepointer)
	if !ok {
		return errors.New("savepoint: the store has none")
	}
	return sp.Savepoint(ctx, func() error { return fn(ctx) })
}

// ReleaseIdempotencyKey forgets a reserved key, so a retry runs again.
func (a *App) ReleaseIdempotencyKey(ctx context.Context, key []byte) error {
	return a.store.ReleaseIdempotency(ctx, key)
}
