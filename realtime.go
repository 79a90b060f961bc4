package loam

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"loam/expr"
)

// The services realtime delivery (package realtime) needs: a subscription's
// condition bound for its reader, the record of an event, the record as
// that reader may see it, a session checked again, and single-use tickets
// for clients that cannot send headers.

// RealtimeTicketTTL is how long a realtime ticket may be used.
const RealtimeTicketTTL = time.Minute

// tokenRealtime is the kind of realtime tickets among the auth tokens; a
// ticket's Email holds the id of the session it was issued to.
const tokenRealtime = "realtime"

// WatchCondition returns the condition a record of collection must meet to
// reach who through a subscription with filter: the collection's view rule
// for who and the filter, both bound now. It is nil when every record
// passes. An unknown collection is not_found; a bad filter (or one on
// fields who may not read) is invalid_filter; a view rule that admits
// superusers only refuses others (unauthenticated or forbidden).
func (a *App) WatchCondition(who *Principal, collection, filter string) (expr.Cond, error) {
	c, err := a.collection(collection)
	if err != nil {
		return nil, err
	}
	if err := who.inScope(c.Name, ScopeView); err != nil {
		return nil, err
	}
	rule, err := a.ruleCond(who, c, c.Rules.View, "viewing "+c.Name, envOf(who, "GET", nil))
	if err != nil {
		return nil, err
	}
	f, err := a.Condition(who, a.Schema(), c.Name, filter, nil)
	if err != nil {
		return nil, err
	}
	return both(rule, f), nil
}

// EventRecord returns the collection of an event and its record as the
// event carries it, read against the live schema; nil, nil when the
// collection is gone or the event carries no record.
func (a *App) EventRecord(e *Event) (*Collection, *Record, error) {
	c := a.Schema().Collection(e.Collection)
	if c == nil || len(e.Data) == 0 {
		return nil, nil, nil
	}
	r, err := UnmarshalStored(c, e.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("event %d: %w", e.Seq, err)
	}
	return c, r, nil
}

// ReaderCopy returns a copy of r (a record of c) marked as who may read it:
// an auth record's email withheld unless who may see it. Renderers leave
// out hidden fields for others than superusers.
func (a *App) ReaderCopy(ctx context.Context, who *Principal, c *Collection, r *Record) *Record {
	out := r.Clone()
	a.withholdEmails(ctx, who, c, []*Record{out})
	return out
}

// Recheck reads who's session again: it returns who with the record as
// stored now, or unauthenticated when the session has expired or was
// revoked, or its record is gone or no longer admitted. Anonymous and
// in-process callers pass as they are.
func (a *App) Recheck(ctx context.Context, who *Principal) (*Principal, error) {
	if who != nil && who.APIKey != nil {
		return a.recheckKey(ctx, who)
	}
	if who == nil || who.System || who.Session == nil {
		return who, nil
	}
	invalid := Errorf(CodeUnauthenticated, "the session has expired or was revoked")
	s, err := a.store.SessionByID(ctx, who.Session.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("recheck session: %w", err)
	}
	if !s.Expires.After(a.now()) {
		return nil, invalid
	}
	c, rec, err := a.owner(ctx, s.Collection, s.RecordID, invalid)
	if err != nil {
		return nil, fmt.Errorf("recheck session: %w", err)
	}
	return &Principal{Collection: c.Name, Record: rec, Session: s}, nil
}

// recheckKey is Recheck for a caller with an API key: the key must still
// exist, be unexpired, and its owner still be admitted by the auth rule.
func (a *App) recheckKey(ctx context.Context, who *Principal) (*Principal, error) {
	invalid := Errorf(CodeUnauthenticated, "the API key has expired or was revoked")
	k, err := a.store.APIKeyByID(ctx, who.APIKey.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("recheck key: %w", err)
	}
	if !k.Expires.IsZero() && !k.Expires.After(a.now()) {
		return nil, invalid
	}
	c, rec, err := a.owner(ctx, k.Collection, k.RecordID, invalid)
	if err != nil {
		return nil, fmt.Errorf("recheck key: %w", err)
	}
	return &Principal{Collection: c.Name, Record: rec, APIKey: k}, nil
}

// IssueRealtimeTicket returns a ticket that opens one realtime stream as
// who, within RealtimeTicketTTL, once: for browsers' EventSource, which
// cannot send an Authorization header. Only its hash is stored, in the
// database, so any instance accepts it. who must be signed in with a
// session (unauthenticated otherwise).
func (a *App) IssueRealtimeTicket(ctx context.Context, who *Principal) (string, error) {
	if who == nil || who.Session == nil || who.Record == nil {
		return "", Errorf(CodeUnauthenticated, "a realtime ticket needs a signed-in caller")
	}
	c, err := a.authCollection(who.Collection)
	if err != nil {
		return "", err
	}
	secret := newSecret()
	id, err := a.issue(ctx, c, tokenRealtime, who.Record.ID, who.Session.ID, secret, RealtimeTicketTTL)
	if err != nil {
		return "", err
	}
	return id + "." + secret, nil
}

// UseRealtimeTicket consumes a ticket of IssueRealtimeTicket and returns
// the principal of its session, checked now. An unknown, used or expired
// ticket, or one whose session has ended, is unauthenticated.
func (a *App) UseRealtimeTicket(ctx context.Context, ticket string) (*Principal, error) {
	invalid := Errorf(CodeUnauthenticated, "the ticket is invalid, expired or used")
	id, secret, _ := strings.Cut(ticket, ".")
	if !ValidID(id) || secret == "" {
		return nil, invalid
	}
	t, err := a.store.UseAuthToken(ctx, id, a.now())
	if errors.Is(err, ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("use a realtime ticket: %w", err)
	}
	// One try per ticket: used or not, it is gone now, and of two callers
	// only the one that deletes it goes on.
	if err := a.store.DeleteAuthToken(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, invalid
		}
		return nil, fmt.Errorf("use a realtime ticket: %w", err)
	}
	if t.Kind != tokenRealtime || subtle.ConstantTimeCompare(secretHash(id, secret), t.SecretHash) != 1 {
		return nil, invalid
	}
	who, err := a.Recheck(ctx, &Principal{Collection: t.Collection, Session: &Session{ID: t.Email}})
	if err != nil {
		return nil, err
	}
	if who == nil || who.Record == nil || who.Record.ID != t.RecordID {
		return nil, invalid
	}
	return who, nil
}

// EvalData returns the records relation paths of rules and filters reach,
// read through the store on first use and kept: for one event, each
// related record costs at most one lookup, whatever the number of
// subscribers whose conditions reach it. Use one per event.
func (a *App) EvalData(ctx context.Context) expr.Data {
	return &evalData{ctx: ctx, a: a, recs: map[string]expr.Record{}, refs: map[string][]expr.Record{}, all: map[string][]expr.Record{}}
}

type evalData struct {
	ctx  context.Context
	a    *App
	recs map[string]expr.Record
	refs map[string][]expr.Record
	all  map[string][]expr.Record
}

// EvalRecord is a record as the expression evaluator reads it.
type EvalRecord struct{ *Record }

// Get returns a field's value, id, created and updated included.
func (r EvalRecord) Get(name string) any {
	switch name {
	case ColID:
		return r.ID
	case ColCreated:
		return r.Created
	case ColUpdated:
		return r.Updated
	}
	return r.Data[name]
}

func (d *evalData) Record(collection, id string) expr.Record {
	key := collection + "/" + id
	if r, ok := d.recs[key]; ok {
		return r
	}
	var out expr.Record
	if c := d.a.Schema().Collection(collection); c != nil {
		if r, err := d.a.store.GetRecord(d.ctx, c, id); err == nil {
			out = EvalRecord{r}
		} else if !errors.Is(err, ErrNotFound) {
			d.a.log.Warn("realtime: reading a related record failed", "collection", collection, "id", id, "err", err)
		}
	}
	d.recs[key] = out
	return out
}

func (d *evalData) Referencing(collection, field, id string, _ bool) []expr.Record {
	key := collection + "/" + field + "/" + id
	if rs, ok := d.refs[key]; ok {
		return rs
	}
	var out []expr.Record
	if c := d.a.Schema().Collection(collection); c != nil {
		list, err := d.a.store.RecordsWhereIn(d.ctx, c, field, []string{id}, 0, nil)
		if err != nil {
			d.a.log.Warn("realtime: reading back-relations failed", "collection", collection, "err", err)
		}
		for _, r := range list {
			out = append(out, EvalRecord{r})
		}
	}
	d.refs[key] = out
	return out
}

// maxEvalAll caps the records @collection reads for one event.
const maxEvalAll = 10000

func (d *evalData) All(collection string) []expr.Record {
	if rs, ok := d.all[collection]; ok {
		return rs
	}
	var out []expr.Record
	if c := d.a.Schema().Collection(collection); c != nil {
		list, err := d.a.store.ListRecords(d.ctx, c, RecordQuery{Page: 1, PerPage: maxEvalAll, SkipTotal: true})
		if err != nil {
			d.a.log.Warn("realtime: reading a collection failed", "collection", collection, "err", err)
		} else {
			for _, r := range list.Items {
				out = append(out, EvalRecord{r})
			}
		}
	}
	d.all[collection] = out
	return out
}
