-- Which Telegram chat belongs to which app user and exchange account (system A).
CREATE TABLE user_identifier_mappings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL UNIQUE REFERENCES app_users (id) ON DELETE CASCADE,
  -- BIGINT: Telegram ids exceed 2^31 (the original INTEGER column truncated them).
  telegram_id bigint NOT NULL CHECK (telegram_id > 0),
  okx_uid text UNIQUE CHECK (okx_uid ~ '^[0-9]{12,20}$'),
  is_active boolean NOT NULL DEFAULT true,
  -- Where the mapping came from: managed by an admin, imported, learned from the legacy service.
  source text NOT NULL CHECK (source IN ('admin', 'import', 'legacy', 'registration')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX user_identifier_mappings_telegram_id_idx ON user_identifier_mappings (telegram_id);
CREATE INDEX user_identifier_mappings_active_telegram_id_idx ON user_identifier_mappings (is_active, telegram_id);
-- One person per Telegram chat: two active users may not claim the same telegram id.
CREATE UNIQUE INDEX user_identifier_mappings_one_active_telegram_id
  ON user_identifier_mappings (telegram_id) WHERE is_active;

CREATE TRIGGER user_identifier_mappings_touch_updated_at
  BEFORE UPDATE ON user_identifier_mappings
  FOR EACH ROW EXECUTE FUNCTION botstate_touch_updated_at();
