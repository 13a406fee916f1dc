-- Outbox of Telegram messages to the admin chat: written in the transaction that records the health
-- event, sent right after, retried by a cron while Telegram fails. dedup_key + created_at keep
-- identical events to one message per window.
CREATE TABLE admin_alerts (
  id uuid PRIMARY KEY,
  health_event_id uuid NOT NULL,
  dedup_key text NOT NULL,
  level text NOT NULL CHECK (level IN ('INFO', 'WARNING', 'ERROR', 'SWITCH', 'CRITICAL')),
  -- The rendered message (parse mode HTML, escaped, at most 4096 characters).
  text text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 4096),
  status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  -- A sender's claim on the row, so the request's sender and the cron never send it twice.
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL,
  sent_at timestamptz
);

CREATE INDEX admin_alerts_due_idx ON admin_alerts (next_attempt_at) WHERE status = 'pending';
CREATE INDEX admin_alerts_dedup_idx ON admin_alerts (dedup_key, created_at DESC);
