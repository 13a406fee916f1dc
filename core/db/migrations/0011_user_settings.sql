-- User settings (system B): one document per user and type, Postgres being the source of truth
-- (the Redis fast copy is refreshed from it through the outbox). Normalised values only (e.g.
-- direction `long_short`; the legacy `롱숏` lives in the fast copy).
CREATE TABLE user_settings (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES app_users (id),
  okx_uid text,
  telegram_id bigint,
  setting_type text NOT NULL CHECK (setting_type IN ('preferences', 'params', 'dual_side')),
  settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  -- Bumped on every change, deletion included; a type deleted and written again continues its
  -- numbering (the row is reused), so history versions never repeat.
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Soft delete: the row stays (with its history), reads answer not found.
  deleted_at timestamptz
);

-- One row per (user, type) at all: upserts arbitrate on it and a deleted row is revived in place.
CREATE UNIQUE INDEX user_settings_user_type_key ON user_settings (user_id, setting_type);
-- The issue's rule (one active, undeleted row per user and type), kept explicit.
CREATE UNIQUE INDEX user_settings_one_active_idx ON user_settings (user_id, setting_type) WHERE is_active AND deleted_at IS NULL;
CREATE INDEX user_settings_user_idx ON user_settings (user_id);
CREATE INDEX user_settings_okx_uid_idx ON user_settings (okx_uid);
CREATE INDEX user_settings_telegram_id_idx ON user_settings (telegram_id);
CREATE INDEX user_settings_type_idx ON user_settings (setting_type);
CREATE INDEX user_settings_settings_gin ON user_settings USING gin (settings);

-- The first statement of every settings write (writes are non-interactive transactions over HTTP):
-- serialises writers of one user and type, then checks what the caller requires. Raises
-- SQLSTATE BS404 (no active user, or no document when one is required) or BS412 (If-Match: the
-- version moved on); the transaction is rolled back and the adapter maps the code.
CREATE FUNCTION botstate_settings_precondition(p_user uuid, p_type text, p_expected integer, p_require_existing boolean)
RETURNS TABLE (prev_version integer, prev_deleted boolean) LANGUAGE plpgsql AS $$
DECLARE
  v_version integer;
  v_deleted timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('user_settings:' || p_user::text || ':' || p_type, 0));
  IF NOT EXISTS (SELECT 1 FROM app_users WHERE id = p_user AND is_active) THEN
    RAISE EXCEPTION 'no active user' USING ERRCODE = 'BS404';
  END IF;
  SELECT s.version, s.deleted_at INTO v_version, v_deleted FROM user_settings s WHERE s.user_id = p_user AND s.setting_type = p_type;
  IF p_expected IS NOT NULL AND (v_version IS NULL OR v_deleted IS NOT NULL OR v_version <> p_expected) THEN
    RAISE EXCEPTION 'version moved on' USING ERRCODE = 'BS412';
  END IF;
  IF p_require_existing AND (v_version IS NULL OR v_deleted IS NOT NULL) THEN
    RAISE EXCEPTION 'no settings of this type' USING ERRCODE = 'BS404';
  END IF;
  RETURN QUERY SELECT v_version, v_deleted IS NOT NULL;
END;
$$;
