-- Reconciliation events (system E): a bot reports each sync of its state with the exchange, each
-- divergence it found (expected vs. actual) and each resolution. A `resolved` event resolves the
-- earlier divergences of its exchange and, when given, its symbol and side.
CREATE TABLE reconciliation_logs (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  -- Breaks ties between events of one instant (newest first means highest seq first).
  seq bigint GENERATED ALWAYS AS IDENTITY,
  user_id uuid NOT NULL REFERENCES app_users (id),
  exchange text NOT NULL CHECK (exchange ~ '^[a-z0-9]{1,32}$'),
  kind text NOT NULL CHECK (kind IN ('sync', 'divergence', 'resolved')),
  symbol text CHECK (symbol ~ '^[A-Z0-9_/-]{1,64}$'),
  side text CHECK (side IN ('long', 'short')),
  expected jsonb,
  actual jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A hypertable's unique indexes must include its time column.
  PRIMARY KEY (id, created_at)
);

CREATE INDEX reconciliation_logs_user_time_idx ON reconciliation_logs (user_id, created_at DESC, seq DESC);
CREATE INDEX reconciliation_logs_user_kind_idx ON reconciliation_logs (user_id, kind, exchange, created_at DESC);

SELECT botstate_make_hypertable('reconciliation_logs', 'created_at');
