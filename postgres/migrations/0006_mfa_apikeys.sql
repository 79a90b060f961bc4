-- The TOTP second factor of auth records. secret is the shared key (never
-- answered after enrolment); enabled is 0 until the first code confirms it;
-- last_step is the TOTP time step last accepted, so a code is never
-- accepted twice.
CREATE TABLE _mfa (
  collection text NOT NULL,
  record_id  text NOT NULL,
  secret     text NOT NULL,
  enabled    integer NOT NULL DEFAULT 0,
  last_step  bigint NOT NULL DEFAULT 0,
  created    timestamptz(3) NOT NULL,
  PRIMARY KEY (collection, record_id)
);

-- Single-use recovery codes of the second factor, as hashes only.
CREATE TABLE _mfa_recovery (
  collection text NOT NULL,
  record_id  text NOT NULL,
  code_hash  bytea NOT NULL,
  PRIMARY KEY (collection, record_id, code_hash)
);

-- API keys of auth records: only a hash of the key is kept; scopes is the
-- JSON of what the key may do; last_used moves at most once a minute.
CREATE TABLE _api_keys (
  id         text PRIMARY KEY,
  collection text NOT NULL,
  record_id  text NOT NULL,
  name       text NOT NULL,
  key_hash   bytea NOT NULL UNIQUE,
  hint       text NOT NULL,
  scopes     text NOT NULL,
  created    timestamptz(3) NOT NULL,
  expires    timestamptz(3),
  last_used  timestamptz(3)
);
CREATE INDEX _api_keys_record ON _api_keys (collection, record_id);
