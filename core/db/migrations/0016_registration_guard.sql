-- Registration (core/registration) writes an existing user's credentials and settings in one
-- non-interactive transaction, decided on a read made just before. This guard, the transaction's
-- first statement, locks the user's row and stops the transaction (SQLSTATE BS001) when the user
-- is no longer active with the identifiers that decision saw, so the use case reads again and
-- decides anew instead of writing for a user that changed meanwhile.
CREATE OR REPLACE FUNCTION botstate_registration_guard(p_user uuid, p_telegram_id bigint, p_okx_uid text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM app_users u
    LEFT JOIN user_identifier_mappings m ON m.user_id = u.id AND m.is_active
    WHERE u.id = p_user AND u.is_active AND u.telegram_id = p_telegram_id
      AND COALESCE(u.okx_uid, m.okx_uid) IS NOT DISTINCT FROM p_okx_uid
    FOR UPDATE OF u;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'registration: user % changed since it was read', p_user USING ERRCODE = 'BS001';
  END IF;
END;
$$;
