-- One row per user creation accepted in async_queue mode: what GET /v1/provisioning/{id} shows and
-- what the SQS consumer settles (pending -> done with the user, or failed with the reason).
CREATE TABLE provisioning_requests (
  id uuid PRIMARY KEY,
  idempotency_key text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
  -- The validated request (email, telegramId, okxUid, plan, displayName).
  request jsonb NOT NULL,
  user_id uuid REFERENCES app_users (id),
  error text,
  -- poison: no retry can succeed (conflict, invalid); exhausted: parked in the DLQ after its receives.
  failure_kind text CHECK (failure_kind IN ('poison', 'exhausted')),
  -- Deliveries the consumer has seen (SQS ApproximateReceiveCount of the latest).
  receive_count integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  CHECK (status <> 'done' OR user_id IS NOT NULL),
  CHECK ((status = 'failed') = (failure_kind IS NOT NULL))
);

CREATE INDEX provisioning_requests_open_idx ON provisioning_requests (status, created_at) WHERE status <> 'done';

CREATE TRIGGER provisioning_requests_touch_updated_at
  BEFORE UPDATE ON provisioning_requests
  FOR EACH ROW EXECUTE FUNCTION botstate_touch_updated_at();
