-- System tables. Record tables are created from collection definitions.
CREATE TABLE _meta (
  key   text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO _meta (key, value) VALUES ('schema_version', 0);

CREATE TABLE _collections (
  id         text PRIMARY KEY,
  name       text COLLATE "C" NOT NULL UNIQUE,
  definition text NOT NULL,
  created    timestamptz(3) NOT NULL,
  updated    timestamptz(3) NOT NULL
);

CREATE TABLE _events (
  seq        bigserial PRIMARY KEY,
  collection text NOT NULL,
  record_id  text NOT NULL,
  action     text NOT NULL,
  created    timestamptz(3) NOT NULL
);

CREATE TABLE _sessions (
  id         text PRIMARY KEY,
  collection text NOT NULL,
  record_id  text NOT NULL,
  token_hash bytea NOT NULL UNIQUE,
  created    timestamptz(3) NOT NULL,
  expires    timestamptz(3) NOT NULL
);
CREATE INDEX _sessions_record ON _sessions (collection, record_id);
