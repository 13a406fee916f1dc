-- Every version of every settings document ever written, with who wrote it and through what:
-- `api`, `registration`, `sync` (a bot's Redis write persisted), `sync-conflict` (the Redis side of
-- a conflict that Postgres won, kept so nothing is lost), `restore` (restore route, import).
CREATE TABLE user_settings_history (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  -- The user_settings row the version belongs to.
  settings_id uuid NOT NULL,
  user_id uuid NOT NULL,
  setting_type text NOT NULL CHECK (setting_type IN ('preferences', 'params', 'dual_side')),
  version integer NOT NULL CHECK (version >= 1),
  settings jsonb NOT NULL CHECK (jsonb_typeof(settings) = 'object'),
  changed_at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
  source text NOT NULL CHECK (source IN ('api', 'registration', 'sync', 'sync-conflict', 'restore')),
  -- A hypertable's unique indexes must include its time column.
  PRIMARY KEY (id, changed_at)
);

CREATE INDEX user_settings_history_version_idx ON user_settings_history (user_id, setting_type, version DESC);
CREATE INDEX user_settings_history_time_idx ON user_settings_history (changed_at DESC);

SELECT botstate_make_hypertable('user_settings_history', 'changed_at');
