-- Realtime: each event carries the record it is about (JSON, without
-- password fields): the stored record after a create or update, the record
-- as it was before a delete. Dispatch checks view rules and filters on it.
-- The insert of an event also sends NOTIFY loam_events with its seq.
ALTER TABLE _events ADD COLUMN data text;
CREATE INDEX _events_created ON _events (created);
