-- The settings every instance shares (GET|PATCH /api/settings): one row,
-- the values set through the API as one JSON object (what is not in it
-- comes from the flags of loam serve), and a version bumped by every
-- change, which instances poll to know when to read the row again.
CREATE TABLE _settings (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  data    TEXT NOT NULL,
  updated TEXT NOT NULL
);
INSERT INTO _settings (id, version, data, updated) VALUES (1, 0, '{}', '1970-01-01T00:00:00.000Z');
