-- Schedules declared through the API are stored whole, so that every
-- scheduler sharing the database runs them. A row whose spec is NULL is a
-- schedule declared in Go: only its handled time is kept.
ALTER TABLE _schedules ADD COLUMN spec TEXT;
ALTER TABLE _schedules ADD COLUMN kind TEXT;
ALTER TABLE _schedules ADD COLUMN args TEXT;
ALTER TABLE _schedules ADD COLUMN timezone TEXT;
ALTER TABLE _schedules ADD COLUMN missed TEXT;
ALTER TABLE _schedules ADD COLUMN grace_ms INTEGER;
ALTER TABLE _schedules ADD COLUMN queue TEXT;
ALTER TABLE _schedules ADD COLUMN priority INTEGER;
ALTER TABLE _schedules ADD COLUMN max_attempts INTEGER;
ALTER TABLE _schedules ADD COLUMN timeout_ms INTEGER;
ALTER TABLE _schedules ADD COLUMN tags TEXT;
ALTER TABLE _schedules ADD COLUMN paused INTEGER;
ALTER TABLE _schedules ADD COLUMN created TEXT;
ALTER TABLE _schedules ADD COLUMN updated TEXT;
