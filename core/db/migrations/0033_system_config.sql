-- Operator switches, Postgres as the truth (Redis holds a copy the containers poll). Every change
-- bumps version, so a copy can tell old from new.
CREATE TABLE system_config (
  key text PRIMARY KEY,
  value text NOT NULL,
  version bigint NOT NULL DEFAULT 1 CHECK (version > 0),
  reason text,
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT system_config_mode_values CHECK (key <> 'system_mode' OR value IN ('async_queue', 'sync_direct'))
);

INSERT INTO system_config (key, value, reason, updated_by) VALUES ('system_mode', 'async_queue', 'initial mode', 'migration 0033');
