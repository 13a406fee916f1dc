-- Telegram chat ids of groups and channels are negative (`-100…`); notifications may go there.
-- Either sign fits in 52 bits (Bot API). Zero is never a chat.
ALTER TABLE app_users DROP CONSTRAINT app_users_telegram_id_check;
ALTER TABLE app_users ADD CONSTRAINT app_users_telegram_id_check
  CHECK (telegram_id <> 0 AND telegram_id BETWEEN -4503599627370496 AND 4503599627370496);

ALTER TABLE user_identifier_mappings DROP CONSTRAINT user_identifier_mappings_telegram_id_check;
ALTER TABLE user_identifier_mappings ADD CONSTRAINT user_identifier_mappings_telegram_id_check
  CHECK (telegram_id <> 0 AND telegram_id BETWEEN -4503599627370496 AND 4503599627370496);
