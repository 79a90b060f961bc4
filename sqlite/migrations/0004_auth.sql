-- How each session began: password, otp, refresh keeps it, impersonate.
ALTER TABLE _sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
CREATE INDEX _sessions_expires ON _sessions (expires);

-- Single-use tokens of the auth flows (verify, reset, email_change, otp).
-- A token is "<id>.<secret>" (a one-time code is sent with its id); only a
-- hash of the secret is kept, and attempts counts every try at it.
CREATE TABLE _auth_tokens (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,
  collection  TEXT NOT NULL,
  record_id   TEXT NOT NULL,
  email       TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  created     TEXT NOT NULL,
  expires     TEXT NOT NULL
);
CREATE INDEX _auth_tokens_record ON _auth_tokens (collection, record_id, kind);
CREATE INDEX _auth_tokens_expires ON _auth_tokens (expires);

-- Counters of failed sign-ins and of mail requests, per identity and per
-- client address (key is a hash of what is counted), in the database so
-- that the limits hold across instances.
CREATE TABLE _auth_throttle (
  key          BLOB PRIMARY KEY,
  hits         INTEGER NOT NULL,
  window_start TEXT NOT NULL
);
CREATE INDEX _auth_throttle_start ON _auth_throttle (window_start);
