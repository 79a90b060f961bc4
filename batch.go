package loam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxBatchRequests is the most requests one batch may hold.
const MaxBatchRequests = 100

// BatchOp is the write one request of a batch makes.
type BatchOp string

// Batch operations.
const (
	BatchCreate BatchOp = "create"
	BatchUpdate BatchOp = "update"
	// BatchUpsert updates the record with the request's ID, or creates it
	// with that id when there is none.
	BatchUpsert BatchOp = "upsert"
	BatchDelete BatchOp = "delete"
)

// BatchRequest is one write of a batch.
type BatchRequest struct {
	Op         BatchOp
	Collection string
	// ID names the record of an update, upsert or delete.
	ID string
	// Body is the record write of a create, update or upsert. An upsert's
	// body may name the id only as ID.
	Body Body
	// IfMatch is an ETag the record must have (update, upsert, delete), as
	// the If-Match of a single request; "*" matches any version. An upsert
	// with IfMatch only updates: a missing record is ErrPreconditionFailed.
	IfMatch string
}

// BatchResult is what one request of a committed batch did.
type BatchResult struct {
	// Collection is the definition the request was checked against.
	Collection *Collection
	// Record is the record as written; nil after a delete.
	Record *Record
	// Created reports a create, or an upsert that created the record.
	Created bool
}

// BatchError is the error of a batch that wrote nothing because the request
// at Index (from 0) failed with Err.
type BatchError struct {
	Index int
	Err   error
}

// Error implements error.
func (e *BatchError) Error() string { return fmt.Sprintf("batch request %d: %v", e.Index, e.Err) }

// Unwrap returns the request's error.
func (e *BatchError) Unwrap() error { return e.Err }

// txKey keys, in a context, the transaction of a batch running on one App.
type txKey struct{ app *App }

// records is the store the record services read and write through: the
// running batch's transaction when ctx comes from one (a hook's
// RecordEvent.Context inside Batch), else the app's store.
func (a *App) records(ctx context.Context) RecordStore {
	if tx, ok := ctx.Value(txKey{a}).(RecordStore); ok {
		return tx
	}
	return a.store
}

// Batch runs reqs in order in one transaction: all of them are written, or
// none is. Each request is checked as the single service checks it (rules,
// validation, hooks) and sees the writes of the requests before it. The
// first request that fails ends the batch with a *BatchError naming it;
// nothing is written then, events included.
//
// Hooks run inside the transaction, and their RecordEvent.Context carries
// it: the App's record services called with that context read and write in
// the batch (a Batch called with it joins the batch). Writing through
// App.Store() from a hook inside a batch is a mistake: on SQLite it waits
// for the batch's own transaction until the context ends.
func (a *App) Batch(ctx context.Context, who *Principal, reqs []BatchRequest) ([]BatchResult, error) {
	if len(reqs) == 0 || len(reqs) > MaxBatchRequests {
		return nil, Errorf(CodeValidationFailed, "a batch holds 1 to %d requests", MaxBatchRequests)
	}
	out := make([]BatchResult, len(reqs))
	run := func(ctx context.Context) error {
		for i := range reqs {
			res, err := a.batchOne(ctx, who, &reqs[i])
			if err != nil {
				return &BatchError{Index: i, Err: err}
			}
			out[i] = res
		}
		return nil
	}
	var err error
	if _, inBatch := ctx.Value(txKey{a}).(RecordStore); inBatch {
		err = run(ctx)
	} else {
		err = a.store.InTx(ctx, func(tx RecordStore) error {
			return run(context.WithValue(ctx, txKey{a}, tx))
		})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// batchOne runs one request of a batch through the single services.
func (a *App) batchOne(ctx context.Context, who *Principal, r *BatchRequest) (BatchResult, error) {
	c, err := a.LiveCollection(ctx, r.Collection)
	if err != nil {
		return BatchResult{}, err
	}
	res := BatchResult{Collection: c}
	switch r.Op {
	case BatchCreate:
		if r.IfMatch != "" {
			return res, Errorf(CodeValidationFailed, "a create cannot be conditional (IfMatch)")
		}
		res.Record, err = a.CreateRecord(ctx, who, c.Name, r.Body)
		res.Created = true
	case BatchUpdate:
		res.Record, err = a.UpdateRecord(ctx, who, c.Name, r.ID, r.Body, r.IfMatch)
	case BatchUpsert:
		res.Record, res.Created, err = a.upsertRecord(ctx, who, c, r)
	case BatchDelete:
		err = a.DeleteRecord(ctx, who, c.Name, r.ID, r.IfMatch)
	default:
		err = Errorf(CodeValidationFailed, "unknown batch operation %q", r.Op)
	}
	return res, err
}

// upsertRecord updates the record r.ID names, under the update rule, or
// creates it with that id, under the create rule.
func (a *App) upsertRecord(ctx context.Context, who *Principal, c *Collection, r *BatchRequest) (*Record, bool, error) {
	if raw, ok := r.Body[ColID]; ok {
		var id string
		if json.Unmarshal(raw, &id) != nil || id != r.ID {
			fe := FieldErrors{}
			fe.Add(ColID, FieldInvalid, "must be the id the request names, or be left out")
			return nil, false, fe.Err(CodeValidationFailed, "some fields are invalid")
		}
	}
	_, err := a.records(ctx).GetRecord(ctx, c, r.ID)
	switch {
	case err == nil:
		rec, err := a.UpdateRecord(ctx, who, c.Name, r.ID, r.Body, r.IfMatch)
		return rec, false, err
	case !errors.Is(err, ErrNotFound):
		return nil, false, err
	case r.IfMatch != "":
		return nil, false, Errorf(CodePreconditionFailed, "there is no record %q to match", r.ID)
	}
	id, err := json.Marshal(r.ID)
	if err != nil {
		return nil, false, fmt.Errorf("encode id: %w", err)
	}
	body := make(Body, len(r.Body)+1)
	for k, v := range r.Body {
		body[k] = v
	}
	body[ColID] = id
	rec, err := a.CreateRecord(ctx, who, c.Name, body)
	return rec, true, err
}
