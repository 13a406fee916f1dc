-- Account equity reported by bots (system E's drawdown guard): the peak over a window against the
-- latest value gives the drawdown.
CREATE TABLE equity_snapshots (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  seq bigint GENERATED ALWAYS AS IDENTITY,
  user_id uuid NOT NULL REFERENCES app_users (id),
  exchange text NOT NULL CHECK (exchange ~ '^[a-z0-9]{1,32}$'),
  equity numeric(38, 12) NOT NULL CHECK (equity >= 0),
  taken_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, taken_at)
);

CREATE INDEX equity_snapshots_user_time_idx ON equity_snapshots (user_id, exchange, taken_at DESC, seq DESC);

SELECT botstate_make_hypertable('equity_snapshots', 'taken_at');
