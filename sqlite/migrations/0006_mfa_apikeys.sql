-- The TOTP second factor of auth records. secret is the shared key (never
-- answered after enrolment); enabled is 0 until the first code confirms it;
-- last_step is the TOTP time step last accepted, so a code is never
-- accepted twice.
CREATE TABLE _mfa (
  collection TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  secret     TEXT NOT NULL,
  enabled    INTEGER NOT NULL DEFAULT 0,
  last_step  INTEGER NOT NULL DEFAULT 0,
  created    TEXT NOT NULL,
  PRIMARY KEY (collection, record_id)
);

-- Single-use recovery codes of the second factor, as hashes only.
CREATE TABLE _mfa_recovery (
  collection TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  code_hash  BLOB NOT NULL,
  PRIMARY KEY (collection, record_id, code_hash)
);

-- API keys of auth records: only a hash of the key is kept; scopes is the
-- JSON of what the key may do; last_used moves at most once a minute.
CREATE TABLE _api_keys (
  id         TEXT PRIMARY KEY,
  collection TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  name       TEXT NOT NULL,
  key_hash   BLOB NOT NULL UNIQUE,
  hint       TEXT NOT NULL,
  scopes     TEXT NOT NULL,
  created    TEXT NOT NULL,
  expires    TEXT,
  last_used  TEXT
);
CREATE INDEX _api_keys_record ON _api_keys (collection, record_id);
