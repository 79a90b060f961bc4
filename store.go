package loam

import (
	"context"
	"time"

	"loam/expr"
)

// Store is the storage port. Two adapters implement it: sqlite (the default)
// and postgres; storetest holds the behaviour both must show.
//
// Adapters translate driver errors into *Error values (ErrNotFound,
// ErrConflict with the fields at fault, validation errors for relations to
// missing records), so callers never see a driver type.
type Store interface {
	// Migrate creates or upgrades the system tables. It is safe to call from
	// several instances at once: the migrations run once.
	Migrate(ctx context.Context) error
	// Ping reports whether the database answers and migrations are applied.
	Ping(ctx context.Context) error
	// Close releases connections; it waits for running writes.
	Close() error

	// Collections returns every collection and the schema version they form.
	Collections(ctx context.Context) ([]*Collection, int64, error)
	// SchemaVersion returns the counter bumped by every schema change.
	SchemaVersion(ctx context.Context) (int64, error)
	// CreateCollection creates the table, its indexes and the catalogue row.
	// A name already taken is ErrConflict.
	CreateCollection(ctx context.Context, c *Collection) error
	// UpdateCollection alters the table from old to new in one transaction,
	// keeping the data. Fields are matched by id; a new field with a default
	// gives it to existing rows. A change that existing rows violate is
	// ErrConflict naming the field (its new name) and changes nothing. A
	// rename also retargets the relations of other collections. Names clash
	// case-insensitively.
	UpdateCollection(ctx context.Context, old, new *Collection) error
	// DeleteCollection drops the table and the catalogue row; when another
	// collection's relations point at it, it is ErrConflict.
	DeleteCollection(ctx context.Context, c *Collection) error

	RecordStore
	// Aggregate groups the records that meet q.Where by q.Groups (groups in
	// ascending key order, missing values first) and computes q.Metrics for
	// each. Without groups it returns one row, also over no records.
	Aggregate(ctx context.Context, c *Collection, q AggregateQuery) ([]AggregateRow, error)

	AuthStore

	// Events returns events with a sequence above after, oldest first.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)
	// ReadEvents returns up to limit events above after, oldest first,
	// with their data, and the state of the log as the same statement saw
	// it (see EventPage).
	ReadEvents(ctx context.Context, after int64, limit int) (*EventPage, error)
	// PurgeEvents deletes the events created before before and those more
	// than keep (> 0) below the newest; the newest event always stays, so
	// the log tells how far the sequence has come.
	PurgeEvents(ctx context.Context, before time.Time, keep int64) (int64, error)

	// InTx runs fn in one write transaction: it commits when fn returns nil;
	// when fn returns an error (returned as it is) or panics, nothing fn
	// wrote stays, events included. tx reads and writes inside the
	// transaction, so it sees fn's own writes; it is valid until fn returns.
	// Inside fn, read and write only through tx: on SQLite the transaction
	// holds the one writer, so a write through the Store itself waits until
	// ctx ends.
	InTx(ctx context.Context, fn func(tx RecordStore) error) error

	IdempotencyStore
	JobStore
	SettingsStore
}

// SettingsStore keeps the shared settings: one JSON document (the values
// set through the API) and a version bumped by every change. It is part of
// Store.
type SettingsStore interface {
	// Settings returns the stored document and its version (0 and {}
	// before any change).
	Settings(ctx context.Context) (data []byte, version int64, err error)
	// SettingsVersion returns the version alone: a cheap read, for
	// instances that check whether another one changed the settings.
	SettingsVersion(ctx context.Context) (int64, error)
	// SaveSettings stores data as version+1 when the stored version is
	// still version, else it is ErrPreconditionFailed and changes nothing.
	SaveSettings(ctx context.Context, data []byte, version int64, now time.Time) error
}

// RecordStore reads and writes records. Store embeds it; the RecordStore
// that Store.InTx hands out runs the same methods inside its transaction.
type RecordStore interface {
	// InsertRecord writes a new record and its event in one transaction. The
	// caller sets the id, times and autodate values; the store writes them as
	// given.
	InsertRecord(ctx context.Context, c *Collection, r *Record) error
	// UpdateRecord writes r over the stored record whose updated time is
	// prev.Updated; when the stored one has moved on it returns
	// ErrPreconditionFailed. endSessions also removes the record's sessions.
	UpdateRecord(ctx context.Context, c *Collection, prev, r *Record, endSessions bool) error
	// DeleteRecord deletes the record (if ifUpdated is set, only at that
	// version) and applies the onDelete behaviour of every relation that points
	// at it, in one transaction with one event per deleted or changed record.
	DeleteRecord(ctx context.Context, s *Schema, c *Collection, id string, ifUpdated *time.Time) error
	// GetRecord returns one record or ErrNotFound.
	GetRecord(ctx context.Context, c *Collection, id string) (*Record, error)
	// FindRecord returns the record whose field equals value, or ErrNotFound
	// (an unknown field is invalid_query). The email of an auth collection
	// equals value without regard to the case of ASCII letters (FoldEmail).
	FindRecord(ctx context.Context, c *Collection, field string, value any) (*Record, error)
	// RecordsWhereIn returns the records of c whose field holds one of
	// values, ordered by id: field is id or a single relation (equal to a
	// value) or a multi relation (its list holds a value; such a record comes
	// once, whatever the number of values it holds). With perValue > 0, each
	// value brings at most perValue records, its first by id. The values
	// travel as one parameter: any number of them costs one statement. Only
	// records that meet where (nil: every record) are returned; perValue
	// counts before where. A field that is neither id nor a relation of c is
	// invalid_query.
	RecordsWhereIn(ctx context.Context, c *Collection, field string, values []string, perValue int, where expr.Cond) ([]*Record, error)
	// ListRecords returns a page of records that meet q.Where, ordered by
	// the sort keys then id. Missing values sort as the smallest on every
	// database. An unknown sort field is invalid_sort.
	ListRecords(ctx context.Context, c *Collection, q RecordQuery) (*RecordList, error)
}

// SortKey orders a list by one field.
type SortKey struct {
	// Field is the field (id, created, updated or a field of the
	// collection), or a relation path such as author.name.
	Field string
	Desc  bool
	// Path is the checked path of Field. The services set it; stores read
	// Field as a field of the collection when it is nil.
	Path *expr.Path
	// Random orders at random (@random).
	Random bool
}

// ListQuery is a list request as a client writes it: the services check it
// against the schema and the caller's rights.
type ListQuery struct {
	// Filter is an expression of the filter language; "" for every record.
	Filter    string
	Sort      []SortKey
	Page      int
	PerPage   int
	SkipTotal bool
	// Cursor continues a list after the last record of a page (the
	// NextCursor of that page); it cannot be combined with Page or @random.
	Cursor string
	// Query holds the request's query parameters, for @request.query.* in
	// the filter and the list rule.
	Query map[string]string
}

// RecordQuery is a checked list query, as stores run it.
type RecordQuery struct {
	// Where is a bound condition; nil for every record.
	Where     expr.Cond
	Sort      []SortKey
	Page      int
	PerPage   int
	SkipTotal bool
	// After starts the page after the record at this position.
	After *Cursor
}

// Cursor is a position in a sorted list: the sort values of one record
// (one per sort key, as the store reads them) and its id.
type Cursor struct {
	Values []any
	ID     string
}

// RecordList is a page of records. TotalItems is -1 when the total was
// skipped. Next is the position of the last record when the page is full
// and the order is not random, nil otherwise.
type RecordList struct {
	Items      []*Record
	Page       int
	PerPage    int
	TotalItems int64
	Next       *Cursor
	// NextCursor is Next as a client sends it back (set by the services).
	NextCursor string
}

// AuthStore keeps what signing in needs: sessions, the single-use tokens
// of the auth flows and the throttle counters. It is part of Store. Every
// check reads the database, so a change made on one instance holds on
// every other at once.
type AuthStore interface {
	// CreateSession stores a session (only the token's hash).
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns the unexpired session with that token hash, or ErrNotFound.
	SessionByHash(ctx context.Context, hash []byte, now time.Time) (*Session, error)
	// SessionByID returns the session with that id, expired or not (without
	// its token hash), or ErrNotFound.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// Sessions returns the unexpired sessions of one record (without their
	// token hashes), newest first.
	Sessions(ctx context.Context, collection, recordID string, now time.Time) ([]*Session, error)
	// RotateSession gives session id a new token hash and expiry when its
	// token hash is still oldHash, else it is ErrNotFound: the old token
	// stops working at once, and of two refreshes with it only one wins.
	RotateSession(ctx context.Context, id string, oldHash, newHash []byte, expires time.Time) error
	// DeleteSession ends one session; ErrNotFound when there is none.
	DeleteSession(ctx context.Context, id string) error
	// DeleteSessions ends every session of one record.
	DeleteSessions(ctx context.Context, collection, recordID string) error

	// CreateAuthToken stores a token of an auth flow (only its secret's hash).
	CreateAuthToken(ctx context.Context, t *AuthToken) error
	// UseAuthToken counts one attempt on the unexpired token id and returns
	// the token with its attempts so far (this one included), or
	// ErrNotFound. Counting before the caller compares the secret bounds
	// the guesses even when they race.
	UseAuthToken(ctx context.Context, id string, now time.Time) (*AuthToken, error)
	// DeleteAuthToken deletes the token id; ErrNotFound when it is gone
	// already, so of two callers that used it only one consumes it.
	DeleteAuthToken(ctx context.Context, id string) error
	// DeleteAuthTokens deletes every token of a kind of one record.
	DeleteAuthTokens(ctx context.Context, collection, recordID, kind string) error

	// HitThrottle adds one to the counter key and returns its hits and the
	// start of its window. A counter whose window started at or before
	// windowStart (or none) starts again at 1, its window at now.
	HitThrottle(ctx context.Context, key []byte, now, windowStart time.Time) (hits int, started time.Time, err error)
	// ForgiveThrottle takes one from the counter key when it is above 0
	// and its window started after windowStart.
	ForgiveThrottle(ctx context.Context, key []byte, windowStart time.Time) error
	// ResetThrottle deletes the counter key.
	ResetThrottle(ctx context.Context, key []byte) error

	// PurgeAuth deletes the sessions, tokens and OAuth2 states that expired
	// before now and the counters whose window started before windowStart.
	PurgeAuth(ctx context.Context, now, windowStart time.Time) (int64, error)

	// CreateOAuth2State stores the state of a sign-in under way.
	CreateOAuth2State(ctx context.Context, st *OAuth2State) error
	// TakeOAuth2State deletes the state with that hash and returns it,
	// expired or not, or ErrNotFound: of two callers with one state, only
	// one gets it.
	TakeOAuth2State(ctx context.Context, hash []byte) (*OAuth2State, error)
	// CreateExternalAuth links a record to a provider's account; a link of
	// the same collection, provider and subject is ErrConflict.
	CreateExternalAuth(ctx context.Context, x *ExternalAuth) error
	// ExternalAuth returns the link of one provider account, or ErrNotFound.
	ExternalAuth(ctx context.Context, collection, provider, subject string) (*ExternalAuth, error)
	// ExternalAuths returns the links of one record, oldest first.
	ExternalAuths(ctx context.Context, collection, recordID string) ([]*ExternalAuth, error)
	// DeleteExternalAuth deletes the link id of one record; ErrNotFound
	// when the record has no such link.
	DeleteExternalAuth(ctx context.Context, collection, recordID, id string) error

	MFAStore
	APIKeyStore
}

// MFAStore keeps the TOTP second factor of auth records and their recovery
// codes (as hashes). It is part of Store. Deleting a record, or its
// collection, deletes them.
type MFAStore interface {
	// PutMFA stores m as the record's factor, replacing one that is not
	// enabled; when the record's factor is enabled it is ErrConflict.
	PutMFA(ctx context.Context, m *MFA) error
	// MFAOf returns the record's factor, or ErrNotFound.
	MFAOf(ctx context.Context, collection, recordID string) (*MFA, error)
	// EnableMFA turns the record's (not yet enabled) factor on, accepting
	// step, and replaces its recovery codes; ErrNotFound when there is no
	// factor waiting.
	EnableMFA(ctx context.Context, collection, recordID string, step int64, codes [][]byte) error
	// UseMFAStep accepts the time step step when it is later than the last
	// one accepted; else (a replayed code) ErrNotFound.
	UseMFAStep(ctx context.Context, collection, recordID string, step int64) error
	// UseRecoveryCode deletes one recovery code of the record; ErrNotFound
	// when it has no such code (unknown or used).
	UseRecoveryCode(ctx context.Context, collection, recordID string, hash []byte) error
	// SetRecoveryCodes replaces the record's recovery codes.
	SetRecoveryCodes(ctx context.Context, collection, recordID string, codes [][]byte) error
	// RecoveryCodesLeft counts the record's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, collection, recordID string) (int, error)
	// DeleteMFA deletes the record's factor and recovery codes.
	DeleteMFA(ctx context.Context, collection, recordID string) error
}

// APIKeyStore keeps API keys (only the hash of each key). It is part of
// Store. Deleting a record, or its collection, deletes its keys.
type APIKeyStore interface {
	// CreateAPIKey stores a key.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash returns the key with that hash unless it expired at now,
	// or ErrNotFound.
	APIKeyByHash(ctx context.Context, hash []byte, now time.Time) (*APIKey, error)
	// APIKeyByID returns a key (without its hash), expired or not, or ErrNotFound.
	APIKeyByID(ctx context.Context, id string) (*APIKey, error)
	// APIKeys returns the keys of one record (without their hashes),
	// newest first.
	APIKeys(ctx context.Context, collection, recordID string) ([]*APIKey, error)
	// DeleteAPIKey deletes a key; ErrNotFound when there is none.
	DeleteAPIKey(ctx context.Context, id string) error
	// TouchAPIKey sets the key's last use to now when it has none or it is
	// at or before stale, so concurrent requests write it once.
	TouchAPIKey(ctx context.Context, id string, now, stale time.Time) error
}

// MFA is the TOTP second factor of one auth record.
type MFA struct {
	Collection string
	RecordID   string
	// Secret is the base32 shared key; it is answered once, at enrolment.
	Secret string
	// Enabled is set once a first code confirmed the enrolment.
	Enabled bool
	// LastStep is the last TOTP time step accepted.
	LastStep int64
	Created  time.Time
}

// APIKey is a named, scoped key of an auth record. Only the hash of the
// key is kept.
type APIKey struct {
	ID         string
	Collection string
	RecordID   string
	Name       string
	KeyHash    []byte
	// Hint shows the key's first and last characters, to tell keys apart.
	Hint   string
	Scopes KeyScopes
	// Expires is zero for a key that does not expire; LastUsed is zero for
	// a key never used.
	Created  time.Time
	Expires  time.Time
	LastUsed time.Time
}

// OAuth2State is an OAuth2 sign-in under way, from its start to the
// provider's callback. Only the hash of the state sent to the provider is
// kept.
type OAuth2State struct {
	Hash       []byte
	Collection string
	Provider   string
	Nonce      string
	// Verifier is the PKCE code verifier.
	Verifier string
	// Redirect is where the browser lands after the callback ("" when the
	// callback answers with JSON).
	Redirect string
	Created  time.Time
	Expires  time.Time
}

// ExternalAuth links a record of an auth collection to an account at an
// OAuth2 provider, named by the provider's subject.
type ExternalAuth struct {
	ID         string
	Collection string
	RecordID   string
	Provider   string
	Subject    string
	Created    time.Time
}

// Session is a signed-in user's session. Only the hash of its token is kept.
type Session struct {
	ID         string
	Collection string
	RecordID   string
	TokenHash  []byte
	// Method is how the session began (SessionPassword, ...).
	Method  string
	Created time.Time
	Expires time.Time
}

// How sessions begin.
const (
	SessionPassword    = "password"
	SessionOTP         = "otp"
	SessionImpersonate = "impersonate"
	SessionOAuth2      = "oauth2"
	SessionMFA         = "mfa"
)

// AuthToken is a single-use token of an auth flow: a verification, a
// password reset, an email change or a one-time code. Only a hash of its
// secret is kept.
type AuthToken struct {
	ID         string
	Kind       string
	Collection string
	RecordID   string
	// Email is the address the token was sent to: the record's email, or
	// the new one of an email change.
	Email      string
	SecretHash []byte
	Attempts   int
	Created    time.Time
	Expires    time.Time
}

// Event actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Event is one committed change, appended in the same transaction as the write.
type Event struct {
	Seq        int64
	Collection string
	RecordID   string
	Action     string
	Time       time.Time
	// Data is the record the event is about as JSON (MarshalStored): as
	// stored after a create or update, as it was before a delete. Only
	// ReadEvents fills it; nil for events written before it existed.
	Data []byte
}

// IdempotencyEntry is the first answer to a request that carried an
// Idempotency-Key. Status is 0 while that first request still runs.
type IdempotencyEntry struct {
	// Key is the hash of the caller and the key they sent.
	Key []byte
	// Request is the hash of the method, path and body, so a key reused for
	// a different request is recognised.
	Request []byte
	Status  int
	// Header holds the replayed headers, as JSON.
	Header  string
	Body    []byte
	Created time.Time
}

// IdempotencyStore keeps idempotency keys. It is part of Store.
type IdempotencyStore interface {
	// ReserveIdempotency inserts e (with Status 0) unless an entry with its
	// key exists that was created after expired (and, while still running,
	// after abandoned); that entry is returned instead, and e is not stored.
	// Older entries with the key are replaced.
	ReserveIdempotency(ctx context.Context, e *IdempotencyEntry, expired, abandoned time.Time) (*IdempotencyEntry, error)
	// CompleteIdempotency stores the answer of a reserved key.
	CompleteIdempotency(ctx context.Context, key []byte, status int, header string, body []byte) error
	// ReleaseIdempotency forgets a reserved key, so a retry runs again.
	ReleaseIdempotency(ctx context.Context, key []byte) error
	// PurgeIdempotency deletes entries created before a time.
	PurgeIdempotency(ctx context.Context, before time.Time) (int64, error)
}

// GroupKey is one key of an aggregate's groupBy: a single-valued path,
// with a date bucket (day, week, month, year) for dates.
type GroupKey struct {
	// Name is the key as written, such as "created:month"; answers use it.
	Name   string
	Path   *expr.Path
	Bucket string
}

// Metric is one aggregate function over a number field.
type Metric struct {
	Fn    string // sum, avg, min or max
	Field string
	Path  *expr.Path
}

// Aggregate functions.
const (
	MetricSum = "sum"
	MetricAvg = "avg"
	MetricMin = "min"
	MetricMax = "max"
)

// AggregateQuery groups the records that meet Where and computes Metrics
// (and the count) per group.
type AggregateQuery struct {
	Where   expr.Cond
	Groups  []GroupKey
	Metrics []Metric
	// Limit is the most groups returned; stores return at most Limit rows.
	Limit int
}

// AggregateRow is one group: its key values (in the order of Groups), its
// record count and the value of each metric (nil where no record had one).
type AggregateRow struct {
	Group  []any
	Count  int64
	Values []any
}
