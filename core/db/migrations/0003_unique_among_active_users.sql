-- Uniqueness of a person's identifiers applies to ACTIVE users only: a deactivated user keeps its
-- row (audit), and its telegram id, okx uid and email may be claimed again by someone else.
-- Re-activating a user whose identifiers were claimed meanwhile violates these indexes (409).
ALTER TABLE app_users DROP CONSTRAINT app_users_telegram_id_key;
ALTER TABLE app_users DROP CONSTRAINT app_users_okx_uid_key;
ALTER TABLE app_users DROP CONSTRAINT app_users_email_key;
CREATE UNIQUE INDEX app_users_active_telegram_id ON app_users (telegram_id) WHERE is_active;
CREATE UNIQUE INDEX app_users_active_okx_uid ON app_users (okx_uid) WHERE is_active;
-- Emails compare case-insensitively.
CREATE UNIQUE INDEX app_users_active_email ON app_users (lower(email)) WHERE is_active;
-- Lookups by identifier also find deactivated users.
CREATE INDEX app_users_telegram_id_idx ON app_users (telegram_id);
CREATE INDEX app_users_okx_uid_idx ON app_users (okx_uid);
CREATE INDEX app_users_email_idx ON app_users (lower(email));

ALTER TABLE user_identifier_mappings DROP CONSTRAINT user_identifier_mappings_okx_uid_key;
CREATE UNIQUE INDEX user_identifier_mappings_one_active_okx_uid ON user_identifier_mappings (okx_uid) WHERE is_active;
CREATE INDEX user_identifier_mappings_okx_uid_idx ON user_identifier_mappings (okx_uid);
