-- Provisioning (system D): what the sales tool tells us about a paying user, beyond the identifiers
-- of 0001 (whose email column already exists, stored lower-cased).
ALTER TABLE app_users
  ADD COLUMN plan text CHECK (plan ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  ADD COLUMN display_name text CHECK (char_length(display_name) BETWEEN 1 AND 128);

-- An email names one ACTIVE user, whatever its case (values are lower-cased on the way in, and 0001
-- checks it; lower() keeps the index right even if that check is ever relaxed). The trust-core
-- migration 0003 adds the same rule for telegram_id / okx_uid / email under its own names; this
-- index has a distinct name and IF NOT EXISTS, so it stays correct (if redundant) whichever lands
-- first and whatever 0003 does to 0001's global UNIQUE constraints.
CREATE UNIQUE INDEX IF NOT EXISTS app_users_provisioning_active_email
  ON app_users (lower(email)) WHERE is_active AND email IS NOT NULL;
