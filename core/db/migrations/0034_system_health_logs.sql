-- Operational events (system D): INFO | WARNING | ERROR | SWITCH (an operator changed the mode) |
-- CRITICAL (something fell back or broke). Metadata is stored with secrets redacted.
CREATE TABLE system_health_logs (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  level text NOT NULL CHECK (level IN ('INFO', 'WARNING', 'ERROR', 'SWITCH', 'CRITICAL')),
  message text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 2000),
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A hypertable's unique indexes must include its time column.
  PRIMARY KEY (id, created_at)
);

CREATE INDEX system_health_logs_time_idx ON system_health_logs (created_at DESC);
CREATE INDEX system_health_logs_level_time_idx ON system_health_logs (level, created_at DESC);

SELECT botstate_make_hypertable('system_health_logs', 'created_at');
