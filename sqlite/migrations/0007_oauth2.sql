-- Sign-in through OAuth2 / OpenID Connect providers.
--
-- _external_auths links a record of an auth collection to an account at a
-- provider (the provider's subject): the next sign-in with that account
-- signs the record in. Deleting the record deletes its links.
CREATE TABLE _external_auths (
  id         TEXT PRIMARY KEY,
  collection TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  provider   TEXT NOT NULL,
  subject    TEXT NOT NULL,
  created    TEXT NOT NULL,
  UNIQUE (collection, provider, subject)
);
CREATE INDEX _external_auths_record ON _external_auths (collection, record_id);

-- Sign-ins under way: the state sent to the provider (only its hash is
-- kept), the nonce and PKCE verifier that go with it, and where the browser
-- lands at the end. In the database, so any instance can serve the
-- callback; a state is deleted when it is used, so it works once.
CREATE TABLE _oauth2_states (
  state_hash BLOB PRIMARY KEY,
  collection TEXT NOT NULL,
  provider   TEXT NOT NULL,
  nonce      TEXT NOT NULL,
  verifier   TEXT NOT NULL,
  redirect   TEXT NOT NULL,
  created    TEXT NOT NULL,
  expires    TEXT NOT NULL
);
CREATE INDEX _oauth2_states_expires ON _oauth2_states (expires);
