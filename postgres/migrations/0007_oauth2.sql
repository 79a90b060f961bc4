-- Sign-in through OAuth2 / OpenID Connect providers.
--
-- _external_auths links a record of an auth collection to an account at a
-- provider (the provider's subject): the next sign-in with that account
-- signs the record in. Deleting the record deletes its links.
CREATE TABLE _external_auths (
  id         text PRIMARY KEY,
  collection text NOT NULL,
  record_id  text NOT NULL,
  provider   text NOT NULL,
  subject    text NOT NULL,
  created    timestamptz(3) NOT NULL,
  UNIQUE (collection, provider, subject)
);
CREATE INDEX _external_auths_record ON _external_auths (collection, record_id);

-- Sign-ins under way: the state sent to the provider (only its hash is
-- kept), the nonce and PKCE verifier that go with it, and where the browser
-- lands at the end. In the database, so any instance can serve the
-- callback; a state is deleted when it is used, so it works once.
CREATE TABLE _oauth2_states (
  state_hash bytea PRIMARY KEY,
  collection text NOT NULL,
  provider   text NOT NULL,
  nonce      text NOT NULL,
  verifier   text NOT NULL,
  redirect   text NOT NULL,
  created    timestamptz(3) NOT NULL,
  expires    timestamptz(3) NOT NULL
);
CREATE INDEX _oauth2_states_expires ON _oauth2_states (expires);
