-- Progress and lock of the scheduled Redis -> Postgres sync (core/sync), one row per source
-- (`settings`, `identifiers`, `positions`, ...).
CREATE TABLE sync_state (
  source text PRIMARY KEY CHECK (source ~ '^[a-z0-9_-]{1,64}$'),
  -- Where the current pass stands: which SCAN pattern of the source and the SCAN cursor within it.
  -- A run cut short by its time budget saves these after every applied page, so the next resumes.
  pattern_index integer NOT NULL DEFAULT 0 CHECK (pattern_index >= 0),
  scan_cursor text NOT NULL DEFAULT '0',
  -- When the pass under way started; every Redis change older than the start of the last COMPLETED
  -- pass is in Postgres (or was reported), which is what the sync lag metric measures.
  pass_started_at timestamptz,
  completed_pass_started_at timestamptz,
  completed_pass_at timestamptz,
  -- The lease that makes runs exclusive across containers (the Neon HTTP driver has no session for
  -- an advisory lock to live in): a run takes it only when it is free or expired.
  lease_owner text,
  lease_until timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
