-- System tables. Record tables are created from collection definitions.
CREATE TABLE _meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO _meta (key, value) VALUES ('schema_version', 0);

CREATE TABLE _collections (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  definition TEXT NOT NULL,
  created    TEXT NOT NULL,
  updated    TEXT NOT NULL
);

CREATE TABLE _events (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  collection TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  action     TEXT NOT NULL,
  created    TEXT NOT NULL
);

CREATE TABLE _sessions (
  id         TEXT PRIMARY KEY,
  collection TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  created    TEXT NOT NULL,
  expires    TEXT NOT NULL
);
CREATE INDEX _sessions_record ON _sessions (collection, record_id);
