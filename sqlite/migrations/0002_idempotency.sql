-- First answers to requests that carried an Idempotency-Key (kept 24 h).
CREATE TABLE _idempotency (
  key     BLOB PRIMARY KEY,
  request BLOB NOT NULL,
  status  INTEGER NOT NULL,
  header  TEXT NOT NULL,
  body    BLOB,
  created TEXT NOT NULL
);
CREATE INDEX _idempotency_created ON _idempotency (created);
