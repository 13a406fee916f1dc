-- Provisioning (system D): what the sales tool tells us about a paying user, beyond the identifiers
-- of 0001. The email column exists since 0001 (stored lower-cased); it is unique among active users
-- through 0003's app_users_active_email (lower(email) WHERE is_active), as are telegram_id and
-- okx_uid, so no index is added here.
ALTER TABLE app_users
  ADD COLUMN plan text CHECK (plan ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  ADD COLUMN display_name text CHECK (char_length(display_name) BETWEEN 1 AND 128);
