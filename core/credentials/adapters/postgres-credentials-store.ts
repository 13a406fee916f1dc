import type { NeonQueryInTransaction } from "@neondatabase/serverless";
import type { Database, Row, TransactionSql } from "../../db/database";
import type { CredentialReader, CredentialsSummary, Exchange, SealedCredentials } from "../model";
import type { CredentialsMigrationStore, CredentialsStore, ResealedRow, RowCursor } from "../ports";

// bytea travels as hex text both ways: the same bytes whatever the driver's type parsers do.
const hex = (bytes: Uint8Array) => `\\x${Buffer.from(bytes).toString("hex")}`;
const bytesOf = (value: unknown) => Buffer.from(String(value), "hex");

const SEALED_COLUMNS = `user_id, exchange, encode(api_key, 'hex') AS api_key, encode(secret, 'hex') AS secret,
  encode(passphrase, 'hex') AS passphrase, key_id, api_key_last4, created_at, updated_at`;

function toSealed(row: Row): SealedCredentials {
  return {
    userId: String(row.user_id),
    exchange: row.exchange as Exchange,
    apiKey: bytesOf(row.api_key),
    secret: bytesOf(row.secret),
    passphrase: bytesOf(row.passphrase),
    keyId: String(row.key_id),
    apiKeyLast4: String(row.api_key_last4),
    createdAt: new Date(row.created_at as string | Date),
    updatedAt: new Date(row.updated_at as string | Date),
  };
}

/**
 * The upsert of one credential set, as a statement of the caller's transaction (registration
 * writes it together with the user and its settings). created_at survives a replacement.
 */
export function saveCredentialsStatement(tx: TransactionSql, row: SealedCredentials): NeonQueryInTransaction {
  return tx.query(
    `INSERT INTO exchange_credentials (user_id, exchange, api_key, secret, passphrase, key_id, api_key_last4, created_at, updated_at)
     VALUES ($1, $2, $3::bytea, $4::bytea, $5::bytea, $6, $7, $8, $8)
     ON CONFLICT (user_id, exchange) DO UPDATE SET api_key = EXCLUDED.api_key, secret = EXCLUDED.secret,
       passphrase = EXCLUDED.passphrase, key_id = EXCLUDED.key_id, api_key_last4 = EXCLUDED.api_key_last4, updated_at = EXCLUDED.updated_at`,
    [row.userId, row.exchange, hex(row.apiKey), hex(row.secret), hex(row.passphrase), row.keyId, row.apiKeyLast4, row.updatedAt],
  );
}

export class PostgresCredentialsStore implements CredentialsStore, CredentialsMigrationStore {
  constructor(private readonly db: Database) {}

  async save(row: SealedCredentials): Promise<void> {
    await this.db.transaction((tx) => [saveCredentialsStatement(tx, row)], "credentials: save");
  }

  async summary(userId: string, exchange: Exchange): Promise<CredentialsSummary | null> {
    const rows = await this.db.query(
      "SELECT exchange, api_key_last4, updated_at FROM exchange_credentials WHERE user_id = $1 AND exchange = $2",
      [userId, exchange],
      "credentials: summary",
    );
    const row = rows[0];
    return row ? { exchange: row.exchange as Exchange, apiKeyLast4: String(row.api_key_last4), updatedAt: new Date(row.updated_at as string | Date) } : null;
  }

  async remove(userId: string, exchange: Exchange): Promise<boolean> {
    const [rows] = await this.db.transaction(
      (tx) => [tx.query("DELETE FROM exchange_credentials WHERE user_id = $1 AND exchange = $2 RETURNING user_id", [userId, exchange])],
      "credentials: delete",
    );
    return (rows?.length ?? 0) > 0;
  }

  async readAudited(userId: string, exchange: Exchange, reader: CredentialReader, at: Date): Promise<SealedCredentials | null> {
    const [audit] = await this.db.transaction(
      (tx) => [
        tx.query(
          `WITH found AS (SELECT ${SEALED_COLUMNS} FROM exchange_credentials WHERE user_id = $1 AND exchange = $2),
           logged AS (
             INSERT INTO exchange_credential_reads (read_at, user_id, exchange, actor_role, actor_subject, request_id, found)
             SELECT $3, $1, $2, $4, $5, $6, EXISTS (SELECT 1 FROM found)
           )
           SELECT * FROM found`,
          [userId, exchange, at, reader.role, reader.subject, reader.requestId],
        ),
      ],
      "credentials: audited read",
    );
    const row = audit?.[0];
    return row ? toSealed(row) : null;
  }

  async listNotUnderKey(keyId: string, after: RowCursor | null, limit: number): Promise<SealedCredentials[]> {
    const rows = await this.db.query(
      `SELECT ${SEALED_COLUMNS} FROM exchange_credentials
       WHERE key_id <> $1 AND ($2::uuid IS NULL OR (user_id, exchange) > ($2::uuid, $3::text))
       ORDER BY user_id, exchange LIMIT $4`,
      [keyId, after?.userId ?? null, after?.exchange ?? null, limit],
      "credentials: list for rotation",
    );
    return rows.map(toSealed);
  }

  async replaceSealed(rows: readonly ResealedRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const column = (pick: (entry: ResealedRow) => string) => rows.map(pick);
    const [written] = await this.db.transaction(
      (tx) => [
        tx.query(
          `UPDATE exchange_credentials AS c SET api_key = v.api_key::bytea, secret = v.secret::bytea, passphrase = v.passphrase::bytea, key_id = v.key_id
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
             AS v(user_id, exchange, api_key, secret, passphrase, key_id, previous_key_id, previous_api_key)
           WHERE c.user_id = v.user_id AND c.exchange = v.exchange AND c.key_id = v.previous_key_id AND c.api_key = v.previous_api_key::bytea
           RETURNING c.user_id`,
          [
            column((entry) => entry.row.userId),
            column((entry) => entry.row.exchange),
            column((entry) => hex(entry.row.apiKey)),
            column((entry) => hex(entry.row.secret)),
            column((entry) => hex(entry.row.passphrase)),
            column((entry) => entry.row.keyId),
            column((entry) => entry.previous.keyId),
            column((entry) => hex(entry.previous.apiKey)),
          ],
        ),
      ],
      "credentials: re-seal batch",
    );
    return written?.length ?? 0;
  }

  async countByKey(): Promise<Readonly<Record<string, number>>> {
    const rows = await this.db.query("SELECT key_id, count(*)::int AS n FROM exchange_credentials GROUP BY key_id", [], "credentials: count by key");
    return Object.fromEntries(rows.map((row) => [String(row.key_id), Number(row.n)]));
  }

  async usersByOkxUid(okxUids: readonly string[]): Promise<ReadonlyMap<string, string>> {
    if (okxUids.length === 0) return new Map();
    const rows = await this.db.query(
      `SELECT okx_uid, id FROM app_users WHERE is_active AND okx_uid = ANY($1::text[])
       UNION SELECT m.okx_uid, m.user_id FROM user_identifier_mappings m JOIN app_users u ON u.id = m.user_id AND u.is_active
         WHERE m.is_active AND m.okx_uid = ANY($1::text[])`,
      [[...okxUids]],
      "credentials: users by okx uid",
    );
    return new Map(rows.map((row) => [String(row.okx_uid), String(row.id)]));
  }

  async findSealed(userIds: readonly string[], exchange: Exchange): Promise<SealedCredentials[]> {
    if (userIds.length === 0) return [];
    const rows = await this.db.query(`SELECT ${SEALED_COLUMNS} FROM exchange_credentials WHERE user_id = ANY($1::uuid[]) AND exchange = $2`, [[...userIds], exchange], "credentials: find");
    return rows.map(toSealed);
  }

  async insertMissing(rows: readonly SealedCredentials[]): Promise<number> {
    if (rows.length === 0) return 0;
    const column = (pick: (row: SealedCredentials) => string) => rows.map(pick);
    const [inserted] = await this.db.transaction(
      (tx) => [
        tx.query(
          `INSERT INTO exchange_credentials (user_id, exchange, api_key, secret, passphrase, key_id, api_key_last4, created_at, updated_at)
           SELECT user_id, exchange, api_key::bytea, secret::bytea, passphrase::bytea, key_id, last4, at, at
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
             AS v(user_id, exchange, api_key, secret, passphrase, key_id, last4, at)
           ON CONFLICT (user_id, exchange) DO NOTHING
           RETURNING user_id`,
          [
            column((row) => row.userId),
            column((row) => row.exchange),
            column((row) => hex(row.apiKey)),
            column((row) => hex(row.secret)),
            column((row) => hex(row.passphrase)),
            column((row) => row.keyId),
            column((row) => row.apiKeyLast4),
            column((row) => row.updatedAt.toISOString()),
          ],
        ),
      ],
      "credentials: insert migrated",
    );
    return inserted?.length ?? 0;
  }
}
