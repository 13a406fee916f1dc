-- A settings write as one statement: the precondition (writers of one user and type serialised,
-- If-Match), the upsert (a deleted row is revived, the version goes on), the history row and the
-- fast-copy outbox row. One statement instead of four in the write's transaction: each statement of
-- a transaction over the HTTP driver costs the proxy a round trip to Postgres.
CREATE FUNCTION botstate_settings_write(
  p_user uuid, p_type text, p_expected integer, p_settings jsonb, p_actor text, p_source text,
  p_row_id uuid, p_outbox jsonb, p_grace_ms integer)
RETURNS TABLE (version integer, updated_at timestamptz, okx_uid text, created boolean) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_prev record;
  v_row user_settings%ROWTYPE;
BEGIN
  SELECT * INTO v_prev FROM botstate_settings_precondition(p_user, p_type, p_expected, false);
  INSERT INTO user_settings AS s (id, user_id, okx_uid, telegram_id, setting_type, settings, version, created_at, updated_at)
  SELECT p_row_id, u.id, COALESCE(u.okx_uid, m.okx_uid), u.telegram_id, p_type, p_settings, 1, now(), now()
  FROM app_users u LEFT JOIN user_identifier_mappings m ON m.user_id = u.id AND m.is_active WHERE u.id = p_user
  ON CONFLICT (user_id, setting_type) DO UPDATE SET settings = EXCLUDED.settings, version = s.version + 1, deleted_at = NULL,
    is_active = true, okx_uid = EXCLUDED.okx_uid, telegram_id = EXCLUDED.telegram_id, updated_at = now()
  RETURNING s.* INTO v_row;
  INSERT INTO user_settings_history (settings_id, user_id, setting_type, version, settings, changed_at, actor, source)
  VALUES (v_row.id, p_user, p_type, v_row.version, p_settings, v_row.updated_at, p_actor, p_source);
  INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
  VALUES ((p_outbox->>'id')::uuid, p_outbox->>'topic', p_outbox->>'key', p_outbox->'payload', now() + p_grace_ms * interval '1 millisecond');
  RETURN QUERY SELECT v_row.version, v_row.updated_at, v_row.okx_uid, (v_prev.prev_version IS NULL OR v_prev.prev_deleted);
END;
$$;
