-- Exchange API credentials (replaces system B's plaintext okx_api_info). Each value is sealed
-- with AES-256-GCM by core/credentials/cipher.ts: a version byte, a random 96-bit nonce, the
-- ciphertext and the 16-byte tag, with the user id, exchange and field bound as associated data
-- (a value copied to another row or column does not open). key_id names the key of the ring that
-- sealed the row, so rotate-credentials finds what is not under the current key.
CREATE TABLE exchange_credentials (
  user_id uuid NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
  exchange text NOT NULL CHECK (exchange ~ '^[a-z][a-z0-9_]{1,31}$'),
  api_key bytea NOT NULL,
  secret bytea NOT NULL,
  passphrase bytea NOT NULL,
  key_id text NOT NULL CHECK (key_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  -- All that is ever shown of the key (masked answers, Telegram replies).
  api_key_last4 text NOT NULL CHECK (char_length(api_key_last4) <= 4),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, exchange)
);

CREATE INDEX exchange_credentials_key_id_idx ON exchange_credentials (key_id);

-- Who read decrypted credentials (GET /v1/internal/users/{ref}/credentials/{exchange}), when, and
-- whose: never the values. A hypertable where TimescaleDB is installed.
CREATE TABLE exchange_credential_reads (
  read_at timestamptz NOT NULL DEFAULT now(),
  user_id uuid NOT NULL,
  exchange text NOT NULL,
  actor_role text NOT NULL,
  actor_subject text NOT NULL,
  request_id text,
  -- false when nothing was stored (the read answered 404).
  found boolean NOT NULL
);

CREATE INDEX exchange_credential_reads_user_idx ON exchange_credential_reads (user_id, read_at DESC);
CREATE INDEX exchange_credential_reads_time_idx ON exchange_credential_reads (read_at DESC);
SELECT botstate_make_hypertable('exchange_credential_reads', 'read_at');
