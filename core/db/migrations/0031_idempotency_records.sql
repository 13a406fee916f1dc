-- Idempotency-Key records (Stripe-style): one row per (operation, key). A request claims its key,
-- and the answer it gave is stored with it so the same key and body replay that answer; a different
-- body under the same key is refused. Rows are kept at least 24 hours (expires_at), then purged.
CREATE TABLE idempotency_records (
  operation text NOT NULL,
  key text NOT NULL CHECK (key ~ '^[!-~]{1,255}$'),
  -- sha256 of the normalised request body.
  payload_hash text NOT NULL CHECK (payload_hash ~ '^[0-9a-f]{64}$'),
  state text NOT NULL CHECK (state IN ('in_progress', 'completed')),
  -- While in progress: until when the claiming request owns the key (a crashed owner's lease runs out).
  locked_until timestamptz,
  -- The provisioning record or user this key is about.
  resource_id uuid,
  -- What the request answered: created (a new user), existing (the user these identifiers name),
  -- accepted (queued); the HTTP layer turns it into 201 / 200 / 202. Failures are not stored: a
  -- refused request leaves no record, so a corrected retry with the same key can run.
  outcome text CHECK (outcome IN ('created', 'existing', 'accepted')),
  -- json, not jsonb: a replay answers the very bytes of the first answer (jsonb reorders keys).
  response_body json,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (operation, key),
  CHECK (state = 'in_progress' OR (outcome IS NOT NULL AND response_body IS NOT NULL AND completed_at IS NOT NULL))
);

CREATE INDEX idempotency_records_expires_at_idx ON idempotency_records (expires_at);
