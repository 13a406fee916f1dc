-- Transactional outbox: a change and the side effects it owes (a Redis fast-copy refresh, a cache
-- invalidation) commit together. The writer delivers its rows right after the commit and deletes
-- them; rows whose delivery failed (Redis down) stay here and a drain retries them with backoff.
CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  -- What kind of effect (the drain looks the handler up by topic), e.g. `settings.fast-copy`.
  topic text NOT NULL CHECK (topic ~ '^[a-z0-9_.-]{1,64}$'),
  -- What it is about (a user and setting type, an identifier); handlers are idempotent per key.
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Not before this time: the writer's own delivery gets a grace period before a drain may claim
  -- the row, and each failed attempt pushes it back (exponential backoff).
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text
);

CREATE INDEX outbox_due_idx ON outbox (next_attempt_at);
CREATE INDEX outbox_topic_key_idx ON outbox (topic, key);
