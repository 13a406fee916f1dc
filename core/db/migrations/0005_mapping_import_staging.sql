-- Scratch space of `import-mappings` (core/lookups/import.ts): the input is streamed here in
-- batches, so the import holds one batch in memory whatever the input's size, and the checks that
-- need the whole input (rows of one user that disagree, several rows claiming one identifier) run
-- in SQL. Rows belong to one import run (import_id) and are deleted when it ends; UNLOGGED because
-- they are worth nothing after a crash (a later run deletes what a killed one left).
CREATE UNLOGGED TABLE mapping_import_rows (
  import_id uuid NOT NULL,
  -- Position in the input (0-based), which orders the report.
  idx bigint NOT NULL,
  origin text NOT NULL,
  telegram_id bigint NOT NULL,
  -- okx_given false: the row leaves the okx uid out (keep what is stored); true with NULL: clear it.
  okx_given boolean NOT NULL,
  okx_uid text,
  user_id uuid,
  is_active boolean,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (import_id, idx)
);
CREATE INDEX mapping_import_rows_telegram_idx ON mapping_import_rows (import_id, telegram_id);
CREATE INDEX mapping_import_rows_okx_idx ON mapping_import_rows (import_id, okx_uid) WHERE okx_uid IS NOT NULL;
CREATE INDEX mapping_import_rows_user_idx ON mapping_import_rows (import_id, user_id) WHERE user_id IS NOT NULL;

-- One row per user the input describes (its rows share a telegram id), with the decision taken
-- against the mappings as they were before the first write.
CREATE UNLOGGED TABLE mapping_import_groups (
  import_id uuid NOT NULL,
  telegram_id bigint NOT NULL,
  first_idx bigint NOT NULL,
  row_count integer NOT NULL,
  okx_given boolean NOT NULL,
  okx_uid text,
  user_id uuid,
  is_active boolean,
  -- Why none of its rows is written (input disagreement, identifiers of another user), or NULL.
  conflict text,
  -- The user it updates (NULL: a new user, whose id is drawn when written).
  target uuid,
  final_okx_uid text,
  final_is_active boolean,
  -- inserted / updated / unchanged, as planned (NULL while conflicting or not planned yet).
  outcome text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (import_id, telegram_id)
);
CREATE INDEX mapping_import_groups_order_idx ON mapping_import_groups (import_id, first_idx);
