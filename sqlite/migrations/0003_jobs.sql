-- Jobs, beside the data: enqueued in the same transaction as the writes
-- that caused them. States: scheduled, available, running, retryable,
-- completed, cancelled, dead. Times are TEXT in the one stored layout.
CREATE TABLE _jobs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  kind         TEXT NOT NULL,
  queue        TEXT NOT NULL,
  state        TEXT NOT NULL,
  priority     INTEGER NOT NULL,
  args         TEXT NOT NULL,
  attempt      INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  timeout_ms   INTEGER NOT NULL,
  run_at       TEXT NOT NULL,
  created      TEXT NOT NULL,
  attempted_at TEXT,
  finalized_at TEXT,
  worker       TEXT,
  lease_until  TEXT,
  unique_key   TEXT,
  tags         TEXT NOT NULL,
  errors       TEXT NOT NULL,
  result       TEXT
);
-- Claims take the best available jobs of a queue.
CREATE INDEX _jobs_claim ON _jobs (queue, priority, run_at, id) WHERE state = 'available';
-- Scheduled and retryable jobs become available when run_at comes.
CREATE INDEX _jobs_due ON _jobs (run_at) WHERE state IN ('scheduled', 'retryable');
-- Running jobs per queue (concurrency limits) and expired leases.
CREATE INDEX _jobs_running ON _jobs (queue, lease_until) WHERE state = 'running';
-- Pruning of old completed jobs.
CREATE INDEX _jobs_completed ON _jobs (finalized_at) WHERE state = 'completed';
-- At most one job per unique key, unless cancelled.
CREATE UNIQUE INDEX _jobs_unique ON _jobs (unique_key) WHERE unique_key IS NOT NULL AND state <> 'cancelled';
-- Schedules: the time up to which each schedule's ticks are handled. A
-- tick's job is inserted in the transaction that moves it past the tick,
-- so each tick runs once however many schedulers run.
CREATE TABLE _schedules (
  name      TEXT PRIMARY KEY,
  last_tick TEXT NOT NULL
);
