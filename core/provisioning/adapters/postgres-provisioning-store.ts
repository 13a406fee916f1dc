import type { NeonQueryInTransaction } from "@neondatabase/serverless";
import { sqlStateOf } from "../../db/database";
import type { Database, Row, TransactionSql } from "../../db/database";
import { UnavailableError } from "../../errors";
import type { OutboxMessage } from "../../outbox/model";
import { CREATE_USER_OPERATION } from "../idempotency";
import type { AppUser, FailureKind, IdempotencyRecord, NaturalKeys, ProvisioningRecord, ProvisioningStatus } from "../model";
import type { CreateResult, KeyAnswer, ProvisioningCounts, ProvisioningSettlement, ProvisioningStore, QueueClaim, QueueClaimResult, UserCreation } from "../ports";
import { KEY_COLUMNS, PROVISIONING_COLUMNS, USER_COLUMNS, toKeyRecord, toProvisioning, toUser } from "./postgres-rows";

export type TransactionStatement = NeonQueryInTransaction;

/**
 * Statements that create a new user's default settings, run inside the creation transaction. The
 * settings capability provides them; until it is wired, a user starts without a settings row.
 */
export type DefaultSettingsStatements = (tx: TransactionSql, user: AppUser) => readonly TransactionStatement[];
export const noDefaultSettings: DefaultSettingsStatements = () => [];

const KEY_CONSTRAINT = "idempotency_records_pkey";
const NATURAL_KEY_QUERY = `SELECT ${USER_COLUMNS} FROM app_users
  WHERE is_active AND (lower(email) = $1 OR telegram_id = $2::bigint OR ($3::text IS NOT NULL AND okx_uid = $3))`;
const OP = CREATE_USER_OPERATION;

type Transacted = { readonly rows: Row[][] } | { readonly violated: string };

/**
 * Users, Idempotency-Keys and provisioning records, one bounded round trip per call (core/db/
 * database.ts: a stalled write is rolled back by Postgres and reported not applied).
 */
export class PostgresProvisioningStore implements ProvisioningStore {
  constructor(
    private readonly db: Database,
    private readonly defaultSettings: DefaultSettingsStatements,
    /** The outbox INSERT of messages, as a statement of the same transaction (PostgresOutbox.enqueue). */
    private readonly enqueue: (messages: readonly OutboxMessage[]) => TransactionStatement,
    /** Counts round trips (bench: queries per request). */
    private readonly onQuery: () => void = () => undefined,
  ) {}

  private query(what: string, text: string, params: readonly unknown[]): Promise<Row[]> {
    this.onQuery();
    return this.db.query(text, params, `provisioning store: ${what}`);
  }

  /** Runs a transaction; a unique violation comes back as the constraint's name instead of an error. */
  private async transact(what: string, build: (tx: TransactionSql) => TransactionStatement[]): Promise<Transacted> {
    this.onQuery();
    try {
      return { rows: await this.db.transaction(build, `provisioning store: ${what}`) };
    } catch (error) {
      if (sqlStateOf(error) === "23505") return { violated: (error as { constraint?: string }).constraint ?? "" };
      throw error;
    }
  }

  private keyStatement(tx: TransactionSql, answer: KeyAnswer): TransactionStatement {
    const body = JSON.stringify(answer.body);
    if (answer.write.kind === "insert") {
      return tx.query(
        `INSERT INTO idempotency_records (operation, key, payload_hash, state, resource_id, outcome, response_body, completed_at, expires_at, created_at)
         VALUES ($1, $2, $3, 'completed', $4, $5, $6::json, $7, $8, $7)`,
        [OP, answer.write.key, answer.write.payloadHash, answer.resourceId, answer.outcome, body, answer.now, answer.write.expiresAt],
      );
    }
    return tx.query(
      `UPDATE idempotency_records SET state = 'completed', outcome = $3, response_body = $4::json, completed_at = $5,
         locked_until = NULL, resource_id = COALESCE($6, resource_id)
       WHERE operation = $1 AND key = $2 AND state = 'in_progress'`,
      [OP, answer.write.key, answer.outcome, body, answer.now, answer.resourceId],
    );
  }

  private settleDoneStatement(tx: TransactionSql, settlement: ProvisioningSettlement, userId: string): TransactionStatement {
    return tx.query(
      `UPDATE provisioning_requests SET status = 'done', user_id = $2, error = NULL, failure_kind = NULL,
         receive_count = GREATEST(receive_count, $3), completed_at = now()
       WHERE id = $1 AND status <> 'done'`,
      [settlement.id, userId, settlement.receiveCount ?? 0],
    );
  }

  private userStatements(tx: TransactionSql, user: AppUser): TransactionStatement[] {
    return [
      tx.query(
        `INSERT INTO app_users (id, telegram_id, okx_uid, email, plan, display_name, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, true, $7, $7)`,
        [user.id, user.telegramId, user.okxUid, user.email, user.plan, user.displayName, user.createdAt],
      ),
      tx.query(
        `INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source, created_at, updated_at)
         VALUES ($1, $2, $3, true, 'registration', $4, $4)`,
        [user.id, user.telegramId, user.okxUid, user.createdAt],
      ),
      ...this.defaultSettings(tx, user),
    ];
  }

  async create(creation: UserCreation): Promise<CreateResult> {
    const { user, key, provisioning, invalidation } = creation;
    const result = await this.transact("create user", (tx) => [
      ...(key ? [this.keyStatement(tx, key)] : []),
      ...this.userStatements(tx, user),
      ...(provisioning ? [this.settleDoneStatement(tx, provisioning, user.id)] : []),
      this.enqueue([invalidation]),
    ]);
    if ("rows" in result) return { kind: "created" };
    return result.violated === KEY_CONSTRAINT ? { kind: "key_taken" } : { kind: "identifiers_taken" };
  }

  async recordExisting(userId: string, key: KeyAnswer | undefined, provisioning: ProvisioningSettlement | undefined): Promise<"recorded" | "key_taken"> {
    if (!key && !provisioning) return "recorded";
    const result = await this.transact("record existing user", (tx) => [
      ...(key ? [this.keyStatement(tx, key)] : []),
      ...(provisioning ? [this.settleDoneStatement(tx, provisioning, userId)] : []),
    ]);
    if ("rows" in result) return "recorded";
    if (result.violated === KEY_CONSTRAINT) return "key_taken";
    throw new UnavailableError(`provisioning store: unexpected unique violation ${result.violated}`);
  }

  async findActiveByNaturalKeys(keys: NaturalKeys): Promise<AppUser[]> {
    const rows = await this.query("find users", NATURAL_KEY_QUERY, [keys.email.toLowerCase(), keys.telegramId, keys.okxUid]);
    return rows.map(toUser);
  }

  async getKey(key: string): Promise<IdempotencyRecord | null> {
    const rows = await this.query("read key", `SELECT ${KEY_COLUMNS} FROM idempotency_records WHERE operation = $1 AND key = $2`, [OP, key]);
    return rows[0] ? toKeyRecord(rows[0]) : null;
  }

  async claimForQueue(claim: QueueClaim): Promise<QueueClaimResult> {
    const result = await this.transact("claim key", (tx) => [
      tx.query(
        `INSERT INTO idempotency_records (operation, key, payload_hash, state, locked_until, resource_id, expires_at)
         VALUES ($1, $2, $3, 'in_progress', $4, $5, $6)`,
        [OP, claim.key, claim.payloadHash, claim.lockedUntil, claim.provisioningId, claim.expiresAt],
      ),
      tx.query(`INSERT INTO provisioning_requests (id, idempotency_key, status, request) VALUES ($1, $2, 'pending', $3::jsonb)`, [
        claim.provisioningId,
        claim.key,
        JSON.stringify(claim.request),
      ]),
      tx.query(NATURAL_KEY_QUERY, [claim.request.email, claim.request.telegramId, claim.request.okxUid]),
    ]);
    if ("violated" in result) {
      if (result.violated === KEY_CONSTRAINT) return { kind: "key_taken" };
      throw new UnavailableError(`provisioning store: unexpected unique violation ${result.violated}`);
    }
    return { kind: "claimed", matches: (result.rows[2] ?? []).map(toUser) };
  }

  /** One statement that writes: run as a bounded transaction, so a stall is rolled back by Postgres. */
  private async write(what: string, text: string, params: readonly unknown[]): Promise<Row[]> {
    const result = await this.transact(what, (tx) => [tx.query(text, [...params])]);
    if ("violated" in result) throw new UnavailableError(`provisioning store: unexpected unique violation ${result.violated}`);
    return result.rows[0] ?? [];
  }

  async takeOverKey(key: string, payloadHash: string, now: Date, lockedUntil: Date): Promise<IdempotencyRecord | null> {
    const rows = await this.write(
      "take over key",
      `UPDATE idempotency_records SET locked_until = $4
       WHERE operation = $1 AND key = $2 AND payload_hash = $3 AND state = 'in_progress' AND (locked_until IS NULL OR locked_until <= $5)
       RETURNING ${KEY_COLUMNS}`,
      [OP, key, payloadHash, lockedUntil, now],
    );
    return rows[0] ? toKeyRecord(rows[0]) : null;
  }

  async completeKey(answer: KeyAnswer): Promise<void> {
    const result = await this.transact("complete key", (tx) => [this.keyStatement(tx, answer)]);
    if ("violated" in result) throw new UnavailableError(`provisioning store: unexpected unique violation ${result.violated}`);
  }

  async releaseKey(key: string, provisioningId: string | null): Promise<void> {
    await this.transact("release key", (tx) => [
      tx.query(`DELETE FROM idempotency_records WHERE operation = $1 AND key = $2 AND state = 'in_progress'`, [OP, key]),
      ...(provisioningId ? [tx.query(`DELETE FROM provisioning_requests WHERE id = $1 AND status = 'pending'`, [provisioningId])] : []),
    ]);
  }

  async deleteExpiredKey(key: string, now: Date): Promise<boolean> {
    const rows = await this.write("delete expired key", `DELETE FROM idempotency_records WHERE operation = $1 AND key = $2 AND expires_at <= $3 RETURNING key`, [OP, key, now]);
    return rows.length > 0;
  }

  async purgeExpiredKeys(now: Date, limit: number): Promise<number> {
    const rows = await this.write(
      "purge expired keys",
      `DELETE FROM idempotency_records WHERE (operation, key) IN (
         SELECT operation, key FROM idempotency_records WHERE expires_at <= $1 LIMIT $2
       ) RETURNING key`,
      [now, limit],
    );
    return rows.length;
  }

  async getProvisioning(id: string): Promise<ProvisioningRecord | null> {
    const rows = await this.query("read provisioning", `SELECT ${PROVISIONING_COLUMNS} FROM provisioning_requests WHERE id = $1`, [id]);
    return rows[0] ? toProvisioning(rows[0]) : null;
  }

  async failProvisioning(id: string, kind: FailureKind, error: string, receiveCount: number): Promise<void> {
    await this.write(
      "fail provisioning",
      `UPDATE provisioning_requests SET status = 'failed', failure_kind = $2, error = $3,
         receive_count = GREATEST(receive_count, $4), completed_at = now()
       WHERE id = $1 AND status <> 'done'`,
      [id, kind, error.slice(0, 1_000), receiveCount],
    );
  }

  async reopenExhausted(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const rows = await this.write(
      "reopen provisioning",
      `UPDATE provisioning_requests SET status = 'pending', failure_kind = NULL, error = NULL, completed_at = NULL
       WHERE id = ANY($1::uuid[]) AND status = 'failed' AND failure_kind = 'exhausted' RETURNING id`,
      [[...ids]],
    );
    return rows.length;
  }

  async provisioningCounts(staleBefore: Date): Promise<ProvisioningCounts> {
    const [row] = await this.query(
      "count provisioning",
      `SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
              count(*) FILTER (WHERE status = 'done') AS done,
              count(*) FILTER (WHERE failure_kind = 'poison') AS poison,
              count(*) FILTER (WHERE failure_kind = 'exhausted') AS exhausted,
              count(*) FILTER (WHERE status = 'pending' AND created_at < $1) AS stale
       FROM provisioning_requests`,
      [staleBefore],
    );
    const count = (name: string) => Number(row?.[name] ?? 0);
    return { pending: count("pending"), done: count("done"), failed: { poison: count("poison"), exhausted: count("exhausted") }, stalePending: count("stale") };
  }


  async listProvisioning(status: ProvisioningStatus, limit: number): Promise<ProvisioningRecord[]> {
    const rows = await this.query("list provisioning", `SELECT ${PROVISIONING_COLUMNS} FROM provisioning_requests WHERE status = $1 ORDER BY created_at DESC LIMIT $2`, [status, limit]);
    return rows.map(toProvisioning);
  }
}
