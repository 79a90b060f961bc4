-- First answers to requests that carried an Idempotency-Key (kept 24 h).
CREATE TABLE _idempotency (
  key     bytea PRIMARY KEY,
  request bytea NOT NULL,
  status  integer NOT NULL,
  header  text NOT NULL,
  body    bytea,
  created timestamptz(3) NOT NULL
);
CREATE INDEX _idempotency_created ON _idempotency (created);
