-- Jobs, beside the data: enqueued in the same transaction as the writes
-- that caused them. States: scheduled, available, running, retryable,
-- completed, cancelled, dead.
CREATE TABLE _jobs (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind         text COLLATE "C" NOT NULL,
  queue        text COLLATE "C" NOT NULL,
  state        text COLLATE "C" NOT NULL,
  priority     integer NOT NULL,
  args         jsonb NOT NULL,
  attempt      integer NOT NULL,
  max_attempts integer NOT NULL,
  timeout_ms   bigint NOT NULL,
  run_at       timestamptz(3) NOT NULL,
  created      timestamptz(3) NOT NULL,
  attempted_at timestamptz(3),
  finalized_at timestamptz(3),
  worker       text COLLATE "C",
  lease_until  timestamptz(3),
  unique_key   text COLLATE "C",
  tags         jsonb NOT NULL,
  errors       jsonb NOT NULL,
  result       jsonb
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
  name      text COLLATE "C" PRIMARY KEY,
  last_tick timestamptz(3) NOT NULL
);
