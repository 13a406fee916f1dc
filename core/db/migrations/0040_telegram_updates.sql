-- Marks of Telegram webhook updates, written when Redis (the usual store of these marks) is down,
-- so that each update_id is handled once across containers whatever store is up. A row is
-- 'processing' while one container holds it (claim_token, lease_until) and 'done' once handled;
-- expired rows may be taken again and are purged as new marks are written.
CREATE TABLE telegram_updates (
  update_id bigint PRIMARY KEY CHECK (update_id >= 0),
  state text NOT NULL CHECK (state IN ('processing', 'done')),
  claim_token uuid,
  lease_until timestamptz,
  expires_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((state = 'processing') = (claim_token IS NOT NULL AND lease_until IS NOT NULL))
);

CREATE INDEX telegram_updates_expires_at_idx ON telegram_updates (expires_at);

CREATE TRIGGER telegram_updates_touch_updated_at
  BEFORE UPDATE ON telegram_updates
  FOR EACH ROW EXECUTE FUNCTION botstate_touch_updated_at();
