-- The durable record of every position (system C/E): open positions are live in Redis
-- (positions:{user}:{exchange}:{symbol}:{side}); the positions sync source (core/positions) upserts
-- them here and closes those that left the index, and DELETE /v1/users/{ref}/positions/... records
-- the close before it removes the hash. No foreign key to app_users: migrated legacy keys may name
-- users that the sync reaches before provisioning does.
CREATE TABLE positions (
  -- Server-set when the position opens (stable through every update until it closes).
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  exchange text NOT NULL CHECK (exchange ~ '^[a-z0-9]{1,32}$'),
  symbol text NOT NULL CHECK (symbol ~ '^[A-Z0-9_/-]{1,64}$'),
  side text NOT NULL CHECK (side IN ('long', 'short')),
  size double precision NOT NULL,
  entry_price double precision NOT NULL,
  mark_price double precision,
  leverage double precision,
  margin_mode text CHECK (margin_mode IN ('cross', 'isolated')),
  unrealized_pnl double precision,
  liquidation_price double precision,
  take_profit double precision[],
  stop_loss double precision,
  -- Unknown scalar fields the bot stored beside the typed ones (bounded by the API and the sync).
  extra jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  opened_at timestamptz NOT NULL,
  -- The position's own updated_at (the bot's last report), not the row's.
  updated_at timestamptz NOT NULL,
  closed_at timestamptz,
  synced_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

-- Closed positions of a user, newest close first (keyset paging on closed_at, id).
CREATE INDEX positions_user_closed_idx ON positions (user_id, closed_at DESC, id DESC) WHERE status = 'closed';
-- Open rows of a user (the sync compares them with the Redis index).
CREATE INDEX positions_user_open_idx ON positions (user_id) WHERE status = 'open';
