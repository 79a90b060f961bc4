-- How each session began: password, otp, refresh keeps it, impersonate.
ALTER TABLE _sessions ADD COLUMN method text NOT NULL DEFAULT 'password';
CREATE INDEX _sessions_expires ON _sessions (expires);

-- Single-use tokens of the auth flows (verify, reset, email_change, otp).
-- A token is "<id>.<secret>" (a one-time code is sent with its id); only a
-- hash of the secret is kept, and attempts counts every try at it.
CREATE TABLE _auth_tokens (
  id          text PRIMARY KEY,
  kind        text NOT NULL,
  collection  text NOT NULL,
  record_id   text NOT NULL,
  email       text NOT NULL,
  secret_hash bytea NOT NULL,
  attempts    integer NOT NULL DEFAULT 0,
  created     timestamptz(3) NOT NULL,
  expires     timestamptz(3) NOT NULL
);
CREATE INDEX _auth_tokens_record ON _auth_tokens (collection, record_id, kind);
CREATE INDEX _auth_tokens_expires ON _auth_tokens (expires);

-- Counters of failed sign-ins and of mail requests, per identity and per
-- client address (key is a hash of what is counted), in the database so
-- that the limits hold across instances.
CREATE TABLE _auth_throttle (
  key          bytea PRIMARY KEY,
  hits         integer NOT NULL,
  window_start timestamptz(3) NOT NULL
);
CREATE INDEX _auth_throttle_start ON _auth_throttle (window_start);
