-- Schedules declared through the API are stored whole, so that every
-- scheduler sharing the database runs them. A row whose spec is NULL is a
-- schedule declared in Go: only its handled time is kept.
ALTER TABLE _schedules
  ADD COLUMN spec         text COLLATE "C",
  ADD COLUMN kind         text COLLATE "C",
  ADD COLUMN args         jsonb,
  ADD COLUMN timezone     text COLLATE "C",
  ADD COLUMN missed       text COLLATE "C",
  ADD COLUMN grace_ms     bigint,
  ADD COLUMN queue        text COLLATE "C",
  ADD COLUMN priority     integer,
  ADD COLUMN max_attempts integer,
  ADD COLUMN timeout_ms   bigint,
  ADD COLUMN tags         jsonb,
  ADD COLUMN paused       boolean,
  ADD COLUMN created      timestamptz(3),
  ADD COLUMN updated      timestamptz(3);
