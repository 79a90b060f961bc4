// The types of a Loam API, written by `loam gen ts` from its OpenAPI document (schema-5).
// Do not edit: run `loam gen ts` again when the schema changes. client.ts is the client that uses them.

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An API key of an auth record. */
export interface APIKey {
  id: string;
  name: string;
  /** The key's first and last characters, to tell keys apart. */
  hint: string;
  scopes: Array<APIKeyScope>;
  /** System areas (superusers' keys only): collections, jobs (jobs and schedules), settings. */
  system: Array<"collections" | "jobs" | "settings">;
  /** Format: date-time. */
  created: string;
  /** Format: date-time. */
  expires: string | null;
  /** Written at most once a minute. Format: date-time. */
  lastUsed: string | null;
  /** The key: only in the answer that made it. Send it as Authorization: Bearer <key>. */
  key?: string;
}

/** The record actions a key may take on one collection. */
export interface APIKeyScope {
  collection: string;
  actions: Array<"list" | "view" | "create" | "update" | "delete">;
}

/** The answer of every request that fails (status 400 and above). */
export interface ApiError {
  /** The HTTP status. */
  status: number;
  /** Stable: clients switch on it. */
  code: "body_too_large" | "conflict" | "forbidden" | "internal" | "invalid_filter" | "invalid_json" | "invalid_query" | "invalid_schema" | "invalid_sort" | "method_not_allowed" | "mfa_required" | "not_found" | "precondition_failed" | "rate_limited" | "unauthenticated" | "unavailable" | "unknown_field" | "unsupported_media_type" | "validation_failed";
  /** For people. */
  message: string;
  /** Present when fields are at fault, keyed by field name (requests.N for the requests of a batch). */
  errors?: { [key: string]: FieldError | RequestError };
  /** With mfa_required only: send it with a second factor to POST /api/collections/{collection}/auth/mfa/verify. */
  mfaId?: string;
}

export interface AuditAggregate {
  items: Array<{
    /** The group's key: one member per groupBy key (dates by bucket as text: 2026-11-25, 2026-W48, 2026-11, 2026). */
    group: { [key: string]: string | number | boolean | null };
    count?: number;
  }>;
}

/** A new audit record. */
export interface AuditCreate {
  /** Chosen by the client, or assigned. */
  id?: string;
  /** A text field. */
  what?: string | null;
}

export interface AuditList {
  items: Array<AuditRecord>;
  /** The page, from 1; -1 for a page read with a cursor. */
  page: number;
  perPage: number;
  /** Every record the filter holds for; -1 with skipTotal. */
  totalItems: number;
  /** -1 with skipTotal. */
  totalPages: number;
  /** On every full page of an order that is not random: pass it as cursor for the next page. */
  nextCursor?: string;
}

/** A audit record. */
export interface AuditRecord {
  readonly id: string;
  readonly collectionName: "audit";
  /** Format: date-time. */
  readonly created: string;
  /** Format: date-time. */
  readonly updated: string;
  /** A text field. */
  what: string | null;
}

/** The fields of a audit record to change. */
export interface AuditUpdate {
  /** A text field. */
  what?: string | null;
}

export interface AuthOptions {
  identityFields?: Array<string>;
  minPasswordLength?: number;
  /** How long a session token lives, in seconds. */
  tokenTTL?: number;
  /** The sign-in methods that are on. */
  methods?: {
    password?: boolean;
    otp?: boolean;
    /** The providers of oauth2Providers that are on. */
    oauth2?: Array<string>;
    mfa?: boolean;
  };
  oauth2Providers?: Array<{
    /** google, microsoft, gitlab or apple (presets), or any name for a generic OpenID Connect provider. */
    name: string;
    displayName?: string;
    clientId: string;
    /** Never answered; left out on a change, the stored one of the same provider name stays. */
    clientSecret?: string;
    /** The issuer URL (presets have one); https, or http on a loopback address. Format: uri. */
    issuer?: string;
    /** The discovery document, when not at <issuer>/.well-known/openid-configuration. Format: uri. */
    discoveryUrl?: string;
    /** microsoft only: common (default), organizations, consumers or a tenant id. */
    tenant?: string;
    /** Default openid, email, profile; openid is always asked for. */
    scopes?: Array<string>;
  }>;
  /** An expression every signed-in record must meet, at sign-in and on every request; "" for none. */
  rule?: string;
}

export interface Batch {
  requests: Array<BatchRequest>;
}

export interface BatchRequest {
  method: "POST" | "PATCH" | "PUT" | "DELETE";
  /** /api/collections/{name}/records for POST, .../records/{id} for the others. */
  url: string;
  /** The record's fields: required for POST, PATCH and PUT, absent or null for DELETE. */
  body?: { [key: string]: JsonValue } | null;
  /** As the If-Match header: PATCH, PUT and DELETE only. */
  ifMatch?: string;
}

export interface BatchResult {
  status: 200 | 201 | 204;
  /** The record as the single route answers it; null for a delete. */
  body: null | _superusersRecord | AuditRecord | InboxRecord | PostsRecord | UsersRecord;
}

export interface Collection {
  id: string;
  name: string;
  type: "base" | "auth";
  system?: boolean;
  fields: Array<CollectionField>;
  indexes: Array<CollectionIndex>;
  rules: CollectionRules;
  /** Auth collections only. */
  auth?: AuthOptions;
  /** Format: date-time. */
  created: string;
  /** Format: date-time. */
  updated: string;
}

/** The members to change; the others stay. */
export interface CollectionChange {
  id?: string;
  name?: string;
  type?: "base" | "auth";
  system?: boolean;
  fields?: Array<NewCollectionField>;
  indexes?: Array<CollectionIndex>;
  rules?: NewCollectionRules;
  auth?: AuthOptions;
  /** Format: date-time. */
  created?: string;
  /** Format: date-time. */
  updated?: string;
}

/** A field as answered. */
export interface CollectionField {
  /** Stable, assigned when left out. */
  id: string;
  name: string;
  type: "text" | "number" | "bool" | "email" | "url" | "date" | "select" | "json" | "relation" | "autodate" | "password";
  system?: boolean;
  required?: boolean;
  /** Never answered to non-superusers. */
  hidden?: boolean;
  unique?: boolean;
  /** The value a record gets when none is sent. */
  default?: JsonValue;
  /** Length for text, value for number, count for multi-valued fields. */
  min?: number;
  /** Length for text, value for number, count for multi-valued fields. */
  max?: number;
  /** A regular expression (RE2 syntax) text values must match. */
  pattern?: string;
  integer?: boolean;
  /** The choices of a select field. */
  values?: Array<string>;
  multiple?: boolean;
  /** The target of a relation. */
  collection?: string;
  onDelete?: "cascade" | "setNull" | "restrict";
  onCreate?: boolean;
  onUpdate?: boolean;
}

export interface CollectionIndex {
  name: string;
  fields: Array<string>;
  unique?: boolean;
}

export interface CollectionRules {
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  list: string | null;
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  view: string | null;
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  create: string | null;
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  update: string | null;
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  delete: string | null;
  /** Auth collections only: who may change others' email, verified and password; absent or null: superusers only. */
  manage?: string | null;
}

export interface Collections {
  items: Array<Collection>;
}

/** What is wrong with one field (or member) of a request. */
export interface FieldError {
  code: "required" | "invalid_type" | "too_short" | "too_long" | "too_small" | "too_large" | "pattern" | "invalid_email" | "invalid_url" | "invalid_date" | "invalid_choice" | "not_found" | "unique" | "unknown_field" | "read_only" | "invalid";
  message: string;
}

export interface Health {
  status: "ok";
}

export interface InboxAggregate {
  items: Array<{
    /** The group's key: one member per groupBy key (dates by bucket as text: 2026-11-25, 2026-W48, 2026-11, 2026). */
    group: { [key: string]: string | number | boolean | null };
    count?: number;
  }>;
}

/** A new inbox record. */
export interface InboxCreate {
  /** Chosen by the client, or assigned. */
  id?: string;
  /** A text field. */
  message: string;
}

export interface InboxList {
  items: Array<InboxRecord>;
  /** The page, from 1; -1 for a page read with a cursor. */
  page: number;
  perPage: number;
  /** Every record the filter holds for; -1 with skipTotal. */
  totalItems: number;
  /** -1 with skipTotal. */
  totalPages: number;
  /** On every full page of an order that is not random: pass it as cursor for the next page. */
  nextCursor?: string;
}

/** A inbox record. */
export interface InboxRecord {
  readonly id: string;
  readonly collectionName: "inbox";
  /** Format: date-time. */
  readonly created: string;
  /** Format: date-time. */
  readonly updated: string;
  /** A text field. */
  message: string;
}

/** The fields of a inbox record to change. */
export interface InboxUpdate {
  /** A text field. */
  message?: string;
}

/** A job. */
export interface Job {
  id: number;
  kind: string;
  queue: string;
  state: "scheduled" | "available" | "running" | "retryable" | "completed" | "cancelled" | "dead";
  /** The smallest runs first. */
  priority: number;
  /** The job's arguments. */
  args: { [key: string]: JsonValue } | Array<JsonValue> | string | number | boolean | null;
  /** The attempts so far, the running one included. */
  attempt: number;
  maxAttempts: number;
  /** Seconds one attempt may take; 0: the worker's default; -1: no bound. */
  timeout: number;
  /** Format: date-time. */
  runAt: string;
  /** Format: date-time. */
  created: string;
  /** Format: date-time. */
  attemptedAt: string | null;
  /** When it was completed, cancelled or dead. Format: date-time. */
  finalizedAt: string | null;
  /** The worker running it. */
  worker: string | null;
  /** Format: date-time. */
  leaseUntil: string | null;
  /** The stored key of a unique job: a JSON list of the kind, the key and, with a period, the period's start. */
  uniqueKey: string | null;
  tags: Array<string>;
  /** The error of every failed attempt, oldest first. */
  errors: Array<JobError>;
  /** What the handler stored, or null. */
  result: { [key: string]: JsonValue } | Array<JsonValue> | string | number | boolean | null;
  /** On enqueue only: true when the unique key was taken and this is the job holding it. */
  duplicate?: boolean;
}

/** The error of one failed attempt. */
export interface JobError {
  attempt: number;
  /** Format: date-time. */
  at: string;
  error: string;
}

/** A page of jobs. */
export interface JobPage {
  items: Array<Job>;
  /** The page, from 1; -1 for a page read with a cursor. */
  page: number;
  perPage: number;
  /** -1 with skipTotal. */
  totalItems: number;
  /** -1 with skipTotal. */
  totalPages: number;
  /** On every full page: pass it as cursor for the next page. */
  nextCursor?: string;
}

/** A collection definition; id, system, created and updated are set by the server. */
export interface NewCollection {
  id?: string;
  name: string;
  type?: "base" | "auth";
  system?: boolean;
  fields?: Array<NewCollectionField>;
  indexes?: Array<CollectionIndex>;
  rules?: NewCollectionRules;
  auth?: AuthOptions;
  /** Format: date-time. */
  created?: string;
  /** Format: date-time. */
  updated?: string;
}

/** A field as sent: without id it is a new field. */
export interface NewCollectionField {
  /** Stable, assigned when left out. */
  id?: string;
  name: string;
  type: "text" | "number" | "bool" | "email" | "url" | "date" | "select" | "json" | "relation" | "autodate" | "password";
  system?: boolean;
  required?: boolean;
  /** Never answered to non-superusers. */
  hidden?: boolean;
  unique?: boolean;
  /** The value a record gets when none is sent. */
  default?: JsonValue;
  /** Length for text, value for number, count for multi-valued fields. */
  min?: number;
  /** Length for text, value for number, count for multi-valued fields. */
  max?: number;
  /** A regular expression (RE2 syntax) text values must match. */
  pattern?: string;
  integer?: boolean;
  /** The choices of a select field. */
  values?: Array<string>;
  multiple?: boolean;
  /** The target of a relation. */
  collection?: string;
  onDelete?: "cascade" | "setNull" | "restrict";
  onCreate?: boolean;
  onUpdate?: boolean;
}

/** Rules left out stay or become null. */
export interface NewCollectionRules {
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  list?: string | null;
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  view?: string | null;
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  create?: string | null;
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  update?: string | null;
  /** null: superusers only; "": everyone; else an expression in the filter language. */
  delete?: string | null;
  /** Auth collections only: who may change others' email, verified and password; absent or null: superusers only. */
  manage?: string | null;
}

/** A job of a built-in kind to enqueue. */
export interface NewJob {
  /** A built-in kind. */
  kind: "http" | "mail";
  /** mail: {to, cc, bcc, replyTo, subject, text, html}; http: {method, url, headers, body or json}. */
  args: { [key: string]: JsonValue };
  queue?: string;
  priority?: number;
  /** When it may run (not with delay). Format: date-time. */
  runAt?: string;
  /** Seconds from now (not with runAt). */
  delay?: number;
  maxAttempts?: number;
  /** Seconds one attempt may take. */
  timeout?: number;
  /** At most one job of the kind with this key that is not cancelled. */
  uniqueKey?: string;
  /** Seconds: the key holds within each period counted from the Unix epoch. */
  uniquePeriod?: number;
  tags?: Array<string>;
}

/** A schedule to store; lastTick, nextTick, created and updated are set by the server. */
export interface NewSchedule {
  /** Its id in the routes; its ticks' jobs have the unique key schedule:NAME@TICK. */
  name: string;
  /** Five cron fields, a name such as @daily, or @every 30s. */
  spec: string;
  kind: "http" | "mail";
  /** The arguments of each tick's job. */
  args: { [key: string]: JsonValue } | Array<JsonValue> | string | number | boolean | null;
  /** The IANA zone of cron specs (default UTC). */
  timezone?: string;
  /** Ticks no scheduler enqueued within the grace: skip them, or run one job for them. */
  missed?: "skip" | "once";
  /** Seconds a tick may be late (default 60). */
  grace?: number;
  queue?: string;
  priority?: number;
  /** 0: the default. */
  maxAttempts?: number;
  /** Seconds; 0: the default. */
  timeout?: number;
  tags?: Array<string>;
  /** A paused schedule enqueues nothing. */
  paused?: boolean;
  /** The time up to which its ticks are handled. Format: date-time. */
  readonly lastTick?: string;
  /** Its next tick; null when paused. Format: date-time. */
  readonly nextTick?: string | null;
  /** Format: date-time. */
  readonly created?: string;
  /** Format: date-time. */
  readonly updated?: string;
}

export interface PostsAggregate {
  items: Array<{
    /** The group's key: one member per groupBy key (dates by bucket as text: 2026-11-25, 2026-W48, 2026-11, 2026). */
    group: { [key: string]: string | number | boolean | null };
    count?: number;
    sum?: { [K in "views" | "score"]?: number };
    avg?: { [K in "views" | "score"]?: number | null };
    min?: { [K in "views" | "score"]?: number | null };
    max?: { [K in "views" | "score"]?: number | null };
  }>;
}

/** A new posts record. */
export interface PostsCreate {
  /** Chosen by the client, or assigned. */
  id?: string;
  /** A text field. */
  title: string;
  /** A text field, matching ^[a-z0-9-]+$ (RE2 syntax), unique. */
  slug?: string | null;
  /** A number field. */
  views?: number | null;
  /** A number field. */
  score?: number | null;
  /** A bool field. */
  published?: boolean | null;
  /** An email field. Format: email. */
  contact?: string | null;
  /** A url field. Format: uri. */
  site?: string | null;
  /** A date field. Format: date-time. */
  due?: string | null;
  /** A select field. */
  status?: "draft" | "live";
  /** A multiple select field. A single value is taken as a list of one. */
  tags?: Array<"go" | "sql" | "web"> | null;
  /** A json field, any JSON value. */
  meta?: JsonValue;
  /** A relation field to users, on delete: restrict. */
  author: string;
  /** A multiple relation field to users, on delete: setNull, at least 1 value when not empty. A single value is taken as a list of one. */
  editors?: Array<string> | null;
  /** A text field, hidden: superusers only. */
  secret?: string | null;
}

export interface PostsList {
  items: Array<PostsRecord>;
  /** The page, from 1; -1 for a page read with a cursor. */
  page: number;
  perPage: number;
  /** Every record the filter holds for; -1 with skipTotal. */
  totalItems: number;
  /** -1 with skipTotal. */
  totalPages: number;
  /** On every full page of an order that is not random: pass it as cursor for the next page. */
  nextCursor?: string;
}

/** A posts record. */
export interface PostsRecord {
  readonly id: string;
  readonly collectionName: "posts";
  /** Format: date-time. */
  readonly created: string;
  /** Format: date-time. */
  readonly updated: string;
  /** A text field. */
  title: string;
  /** A text field, matching ^[a-z0-9-]+$ (RE2 syntax), unique. */
  slug: string | null;
  /** A number field. */
  views: number | null;
  /** A number field. */
  score: number | null;
  /** A bool field. */
  published: boolean | null;
  /** An email field. Format: email. */
  contact: string | null;
  /** A url field. Format: uri. */
  site: string | null;
  /** A date field. Format: date-time. */
  due: string | null;
  /** A select field. */
  status: "draft" | "live";
  /** A multiple select field. */
  tags: Array<"go" | "sql" | "web">;
  /** A json field, any JSON value. */
  meta: JsonValue;
  /** A relation field to users, on delete: restrict. */
  author: string;
  /** A multiple relation field to users, on delete: setNull, at least 1 value when not empty. */
  editors: Array<string>;
  /** An autodate field, set by the server on create and update. Format: date-time. */
  readonly stamp: string | null;
  /** A text field, hidden: superusers only. Missing for callers other than superusers. */
  secret?: string | null;
  /** Present with the expand parameter: the related records by relation path (a list for multi relations and back-relations). */
  expand?: { [key: string]: { [key: string]: JsonValue } | Array<{ [key: string]: JsonValue }> };
}

/** The fields of a posts record to change. */
export interface PostsUpdate {
  /** A text field. */
  title?: string;
  /** A text field, matching ^[a-z0-9-]+$ (RE2 syntax), unique. */
  slug?: string | null;
  /** A number field. */
  views?: number | null;
  /** A number field. */
  score?: number | null;
  /** A bool field. */
  published?: boolean | null;
  /** An email field. Format: email. */
  contact?: string | null;
  /** A url field. Format: uri. */
  site?: string | null;
  /** A date field. Format: date-time. */
  due?: string | null;
  /** A select field. */
  status?: "draft" | "live";
  /** A multiple select field. A single value is taken as a list of one. */
  tags?: Array<"go" | "sql" | "web"> | null;
  /** A json field, any JSON value. */
  meta?: JsonValue;
  /** A relation field to users, on delete: restrict. */
  author?: string;
  /** A multiple relation field to users, on delete: setNull, at least 1 value when not empty. A single value is taken as a list of one. */
  editors?: Array<string> | null;
  /** A text field, hidden: superusers only. */
  secret?: string | null;
}

/** At most max requests per window on the routes route matches; more answer 429 rate_limited with Retry-After. */
export interface RateLimit {
  /** "METHOD /path" or "/path" (any method); a segment * matches any one segment: "POST /api/collections/*\/records". */
  route: string;
  max: number;
  /** A duration of whole seconds from 1s to 24h: "30s", "1m", "1h". */
  window: string;
  /** ip (the default): per client address; auth: per signed-in record (anonymous callers per address). */
  by?: "ip" | "auth";
}

export interface RealtimeTicket {
  ticket: string;
  /** Seconds the ticket stays valid. */
  expiresIn: number;
}

/** The error of one request of a batch, under the key requests.N. */
export interface RequestError {
  code: "body_too_large" | "conflict" | "forbidden" | "internal" | "invalid_filter" | "invalid_json" | "invalid_query" | "invalid_schema" | "invalid_sort" | "method_not_allowed" | "mfa_required" | "not_found" | "precondition_failed" | "rate_limited" | "unauthenticated" | "unavailable" | "unknown_field" | "unsupported_media_type" | "validation_failed";
  message: string;
  errors?: { [key: string]: FieldError };
}

/** A schedule stored in the database. */
export interface Schedule {
  /** Its id in the routes; its ticks' jobs have the unique key schedule:NAME@TICK. */
  name: string;
  /** Five cron fields, a name such as @daily, or @every 30s. */
  spec: string;
  kind: "http" | "mail";
  /** The arguments of each tick's job. */
  args: { [key: string]: JsonValue } | Array<JsonValue> | string | number | boolean | null;
  /** The IANA zone of cron specs (default UTC). */
  timezone: string;
  /** Ticks no scheduler enqueued within the grace: skip them, or run one job for them. */
  missed: "skip" | "once";
  /** Seconds a tick may be late (default 60). */
  grace: number;
  queue: string;
  priority: number;
  /** 0: the default. */
  maxAttempts: number;
  /** Seconds; 0: the default. */
  timeout: number;
  tags: Array<string>;
  /** A paused schedule enqueues nothing. */
  paused: boolean;
  /** The time up to which its ticks are handled. Format: date-time. */
  lastTick: string;
  /** Its next tick; null when paused. Format: date-time. */
  nextTick: string | null;
  /** Format: date-time. */
  created: string;
  /** Format: date-time. */
  updated: string;
}

/** The members to change; the others stay. The name cannot change. */
export interface ScheduleChange {
  /** Its id in the routes; its ticks' jobs have the unique key schedule:NAME@TICK. */
  name?: string;
  /** Five cron fields, a name such as @daily, or @every 30s. */
  spec?: string;
  kind?: "http" | "mail";
  /** The arguments of each tick's job. */
  args?: { [key: string]: JsonValue } | Array<JsonValue> | string | number | boolean | null;
  /** The IANA zone of cron specs (default UTC). */
  timezone?: string;
  /** Ticks no scheduler enqueued within the grace: skip them, or run one job for them. */
  missed?: "skip" | "once";
  /** Seconds a tick may be late (default 60). */
  grace?: number;
  queue?: string;
  priority?: number;
  /** 0: the default. */
  maxAttempts?: number;
  /** Seconds; 0: the default. */
  timeout?: number;
  tags?: Array<string>;
  /** A paused schedule enqueues nothing. */
  paused?: boolean;
  /** The time up to which its ticks are handled. Format: date-time. */
  readonly lastTick?: string;
  /** Its next tick; null when paused. Format: date-time. */
  readonly nextTick?: string | null;
  /** Format: date-time. */
  readonly created?: string;
  /** Format: date-time. */
  readonly updated?: string;
}

/** A page of schedules. */
export interface SchedulePage {
  items: Array<Schedule>;
  /** The page, from 1; -1 for a page read with a cursor. */
  page: number;
  perPage: number;
  /** -1 with skipTotal. */
  totalItems: number;
  /** -1 with skipTotal. */
  totalPages: number;
  /** On every full page: pass it as cursor for the next page. */
  nextCursor?: string;
}

/** The settings in effect: the flags of loam serve as defaults, overridden by the values set here. */
export interface Settings {
  /** Where the links in mails lead. */
  appURL: string;
  smtp: {
    /** The SMTP server; empty: no mail is sent. */
    host: string;
    port: number;
    username: string;
    /** Whether a password is set; the password itself is never answered. */
    passwordSet: boolean;
    /** auto: TLS from the start on port 465, else STARTTLS when offered; starttls: STARTTLS required; tls: TLS from the start on any port; none: never. */
    tls: "auto" | "starttls" | "tls" | "none";
  };
  sender: {
    name: string;
    address: string;
  };
  /** Per-route limits, counted in the database across instances. */
  rateLimits: Array<RateLimit>;
  /** Origins browsers may call the API from: https://app.example.com or *. */
  corsOrigins: Array<string>;
  /** Proxies (IPs or CIDRs) whose X-Forwarded-For and X-Forwarded-Proto are believed. */
  trustedProxies: Array<string>;
  /** Hosts http jobs may reach: host, host:port, *.domain or *. */
  outboundHosts: Array<string>;
}

/** A JSON merge patch of the settings: members present replace the current values (objects merge member by member, lists are replaced whole), null returns a member to its default (the flags of loam serve). */
export interface SettingsChange {
  appURL?: string | null;
  smtp?: {
    host?: string | null;
    port?: number | null;
    username?: string | null;
    /** Write-only. */
    password?: string | null;
    /** auto: TLS from the start on port 465, else STARTTLS when offered; starttls: STARTTLS required; tls: TLS from the start on any port; none: never. */
    tls?: "auto" | "starttls" | "tls" | "none" | null;
  } | null;
  sender?: {
    name?: string | null;
    address?: string | null;
  } | null;
  /** Per-route limits, counted in the database across instances. */
  rateLimits?: Array<RateLimit> | null;
  /** Origins browsers may call the API from: https://app.example.com or *. */
  corsOrigins?: Array<string> | null;
  /** Proxies (IPs or CIDRs) whose X-Forwarded-For and X-Forwarded-Proto are believed. */
  trustedProxies?: Array<string> | null;
  /** Hosts http jobs may reach: host, host:port, *.domain or *. */
  outboundHosts?: Array<string> | null;
}

export interface TestEmail {
  /** The address the test mail goes to. */
  to: string;
}

export interface UsersAggregate {
  items: Array<{
    /** The group's key: one member per groupBy key (dates by bucket as text: 2026-11-25, 2026-W48, 2026-11, 2026). */
    group: { [key: string]: string | number | boolean | null };
    count?: number;
  }>;
}

export interface UsersAuth {
  /** A session token: send it as Authorization: Bearer <token>. */
  token: string;
  /** A users record. */
  record: {
    readonly id: string;
    readonly collectionName: "users";
    /** Format: date-time. */
    readonly created: string;
    /** Format: date-time. */
    readonly updated: string;
    /** An email field, unique. Format: email. */
    email?: string;
    /** A bool field. */
    emailVisibility: boolean | null;
    /** A bool field. */
    verified: boolean | null;
    /** A text field, matching ^[^<>]*$ (RE2 syntax). */
    name: string | null;
    /** A url field. Format: uri. */
    avatar: string | null;
    /** A select field. */
    role: "reader" | "editor" | null;
    /** Present with the expand parameter: the related records by relation path (a list for multi relations and back-relations). */
    expand?: { [key: string]: { [key: string]: JsonValue } | Array<{ [key: string]: JsonValue }> };
  };
}

/** A new users record. */
export interface UsersCreate {
  /** Chosen by the client, or assigned. */
  id?: string;
  /** An email field, unique. Format: email. */
  email: string;
  /** A bool field. */
  emailVisibility?: boolean | null;
  /** A bool field. */
  verified?: boolean | null;
  /** A password field. */
  password: string;
  /** A text field, matching ^[^<>]*$ (RE2 syntax). */
  name?: string | null;
  /** A url field. Format: uri. */
  avatar?: string | null;
  /** A text field, hidden: superusers only. */
  notes?: string | null;
  /** A select field. */
  role?: "reader" | "editor" | null;
  /** When sent, must equal password. */
  passwordConfirm?: string;
}

export interface UsersList {
  items: Array<UsersRecord>;
  /** The page, from 1; -1 for a page read with a cursor. */
  page: number;
  perPage: number;
  /** Every record the filter holds for; -1 with skipTotal. */
  totalItems: number;
  /** -1 with skipTotal. */
  totalPages: number;
  /** On every full page of an order that is not random: pass it as cursor for the next page. */
  nextCursor?: string;
}

/** A users record. */
export interface UsersRecord {
  readonly id: string;
  readonly collectionName: "users";
  /** Format: date-time. */
  readonly created: string;
  /** Format: date-time. */
  readonly updated: string;
  /** An email field, unique. Format: email. */
  email: string;
  /** A bool field. */
  emailVisibility: boolean | null;
  /** A bool field. */
  verified: boolean | null;
  /** A text field, matching ^[^<>]*$ (RE2 syntax). */
  name: string | null;
  /** A url field. Format: uri. */
  avatar: string | null;
  /** A text field, hidden: superusers only. Missing for callers other than superusers. */
  notes?: string | null;
  /** A select field. */
  role: "reader" | "editor" | null;
  /** Present with the expand parameter: the related records by relation path (a list for multi relations and back-relations). */
  expand?: { [key: string]: { [key: string]: JsonValue } | Array<{ [key: string]: JsonValue }> };
}

/** The fields of a users record to change. */
export interface UsersUpdate {
  /** An email field, unique. Format: email. */
  email?: string;
  /** A bool field. */
  emailVisibility?: boolean | null;
  /** A bool field. */
  verified?: boolean | null;
  /** A password field. */
  password?: string;
  /** A text field, matching ^[^<>]*$ (RE2 syntax). */
  name?: string | null;
  /** A url field. Format: uri. */
  avatar?: string | null;
  /** A text field, hidden: superusers only. */
  notes?: string | null;
  /** A select field. */
  role?: "reader" | "editor" | null;
  /** When sent, must equal password. */
  passwordConfirm?: string;
}

export interface _superusersAggregate {
  items: Array<{
    /** The group's key: one member per groupBy key (dates by bucket as text: 2026-11-25, 2026-W48, 2026-11, 2026). */
    group: { [key: string]: string | number | boolean | null };
    count?: number;
  }>;
}

export interface _superusersAuth {
  /** A session token: send it as Authorization: Bearer <token>. */
  token: string;
  record: _superusersRecord;
}

/** A new _superusers record. */
export interface _superusersCreate {
  /** Chosen by the client, or assigned. */
  id?: string;
  /** An email field, unique. Format: email. */
  email: string;
  /** A bool field. */
  emailVisibility?: boolean | null;
  /** A bool field. */
  verified?: boolean | null;
  /** A password field. */
  password: string;
  /** When sent, must equal password. */
  passwordConfirm?: string;
}

export interface _superusersList {
  items: Array<_superusersRecord>;
  /** The page, from 1; -1 for a page read with a cursor. */
  page: number;
  perPage: number;
  /** Every record the filter holds for; -1 with skipTotal. */
  totalItems: number;
  /** -1 with skipTotal. */
  totalPages: number;
  /** On every full page of an order that is not random: pass it as cursor for the next page. */
  nextCursor?: string;
}

/** A _superusers record. */
export interface _superusersRecord {
  readonly id: string;
  readonly collectionName: "_superusers";
  /** Format: date-time. */
  readonly created: string;
  /** Format: date-time. */
  readonly updated: string;
  /** An email field, unique. Format: email. */
  email: string;
  /** A bool field. */
  emailVisibility: boolean | null;
  /** A bool field. */
  verified: boolean | null;
}

/** The fields of a _superusers record to change. */
export interface _superusersUpdate {
  /** An email field, unique. Format: email. */
  email?: string;
  /** A bool field. */
  emailVisibility?: boolean | null;
  /** A bool field. */
  verified?: boolean | null;
  /** A password field. */
  password?: string;
  /** When sent, must equal password. */
  passwordConfirm?: string;
}

/** The types of each collection's records, as the client's methods take and answer them. */
export interface CollectionTypes {
  "_superusers": {
    record: _superusersRecord;
    create: _superusersCreate;
    update: _superusersUpdate;
    list: _superusersList;
    aggregate: _superusersAggregate;
  };
  "audit": {
    record: AuditRecord;
    create: AuditCreate;
    update: AuditUpdate;
    list: AuditList;
    aggregate: AuditAggregate;
  };
  "inbox": {
    record: InboxRecord;
    create: InboxCreate;
    update: InboxUpdate;
    list: InboxList;
    aggregate: InboxAggregate;
  };
  "posts": {
    record: PostsRecord;
    create: PostsCreate;
    update: PostsUpdate;
    list: PostsList;
    aggregate: PostsAggregate;
  };
  "users": {
    record: UsersRecord;
    create: UsersCreate;
    update: UsersUpdate;
    list: UsersList;
    aggregate: UsersAggregate;
  };
}

/** The answer of a sign-in, per auth collection. */
export interface AuthCollectionTypes {
  "_superusers": _superusersAuth;
  "users": UsersAuth;
}
