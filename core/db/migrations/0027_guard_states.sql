-- The last drawdown status seen per user and exchange, so that a transition into `critical` is
-- recorded (and alerted) once, whichever container saw it: the update is a compare-and-set.
CREATE TABLE guard_states (
  user_id uuid NOT NULL REFERENCES app_users (id),
  exchange text NOT NULL CHECK (exchange ~ '^[a-z0-9]{1,32}$'),
  status text NOT NULL CHECK (status IN ('normal', 'warning', 'critical')),
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, exchange)
);
