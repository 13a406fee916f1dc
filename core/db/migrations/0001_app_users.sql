-- Turns a time-series table into a TimescaleDB hypertable when the extension is installed, and
-- leaves it a plain table otherwise (local Postgres, CI). Later migrations call it.
CREATE OR REPLACE FUNCTION botstate_make_hypertable(target regclass, time_column name)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    PERFORM create_hypertable(target, time_column, if_not_exists => TRUE, migrate_data => TRUE);
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION botstate_touch_updated_at()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

CREATE TABLE app_users (
  id uuid PRIMARY KEY,
  -- Telegram ids exceed 2^31 (up to 52 bits): BIGINT, never INTEGER.
  telegram_id bigint NOT NULL UNIQUE CHECK (telegram_id > 0),
  okx_uid text UNIQUE CHECK (okx_uid ~ '^[0-9]{1,32}$'),
  email text UNIQUE CHECK (email = lower(email)),
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER app_users_touch_updated_at
  BEFORE UPDATE ON app_users
  FOR EACH ROW EXECUTE FUNCTION botstate_touch_updated_at();
