import type { NeonQueryPromise } from "@neondatabase/serverless";
import type { Sql } from "../../db/neon";
import { UnavailableError } from "../../errors";
import { CREATE_USER_OPERATION } from "../idempotency";
import type { AppUser, FailureKind, IdempotencyRecord, NaturalKeys, ProvisioningRecord, ProvisioningStatus } from "../model";
import type { CreateResult, KeyAnswer, ProvisioningCounts, ProvisioningSettlement, ProvisioningStore, QueueClaim, QueueClaimResult, UserCreation } from "../ports";
import { KEY_COLUMNS, PROVISIONING_COLUMNS, USER_COLUMNS, toKeyRecord, toProvisioning, toUser } from "./postgres-rows";

export type TransactionStatement = NeonQueryPromise<false, false, Record<string, unknown>[]>;

/**
 * Statements that create a new user's default settings, run inside the creation transaction. The
 * settings capability provides them; until it is wired, a user starts without a settings row.
 */
export type DefaultSettingsStatements = (sql: Sql, userId: string, now: Date) => readonly TransactionStatement[];
export const noDefaultSettings: DefaultSettingsStatements = () => [];

const KEY_CONSTRAINT = "idempotency_records_pkey";
const OP = CREATE_USER_OPERATION;

function isUniqueViolation(error: unknown): error is { code: string; constraint?: string } {
  return (error as { code?: string } | null)?.code === "23505";
}

async function guarded<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UnavailableError) throw error;
    throw new UnavailableError(`provisioning store: ${what} failed`, { cause: error });
  }
}

/** Users, Idempotency-Keys and provisioning records through Neon's HTTP driver, one round trip per call. */
export class PostgresProvisioningStore implements ProvisioningStore {
  constructor(
    private readonly sql: Sql,
    private readonly defaultSettings: DefaultSettingsStatements = noDefaultSettings,
    /** Counts round trips (bench: queries per request). */
    private readonly onQuery: () => void = () => undefined,
  ) {}

  private async run<T>(what: string, work: (sql: Sql) => Promise<T>): Promise<T> {
    this.onQuery();
    return guarded(what, () => work(this.sql));
  }

  /** Runs a transaction; a unique violation comes back as the constraint's name instead of an error. */
  private async transact(what: string, statements: readonly TransactionStatement[]): Promise<{ rows: Record<string, unknown>[][] } | { violated: string }> {
    this.onQuery();
    try {
      return { rows: (await this.sql.transaction([...statements])) as Record<string, unknown>[][] };
    } catch (error) {
      if (isUniqueViolation(error)) return { violated: error.constraint ?? "" };
      throw new UnavailableError(`provisioning store: ${what} failed`, { cause: error });
    }
  }

  private keyStatement(answer: KeyAnswer): TransactionStatement {
    const body = JSON.stringify(answer.body);
    if (answer.write.kind === "insert") {
      return this.sql.query(
        `INSERT INTO idempotency_records (operation, key, payload_hash, state, resource_id, outcome, response_body, completed_at, expires_at, created_at)
         VALUES ($1, $2, $3, 'completed', $4, $5, $6::jsonb, $7, $8, $7)`,
        [OP, answer.write.key, answer.write.payloadHash, answer.resourceId, answer.outcome, body, answer.now, answer.write.expiresAt],
      );
    }
    return this.sql.query(
      `UPDATE idempotency_records SET state = 'completed', outcome = $3, response_body = $4::jsonb, completed_at = $5,
         locked_until = NULL, resource_id = COALESCE($6, resource_id)
       WHERE operation = $1 AND key = $2 AND state = 'in_progress'`,
      [OP, answer.write.key, answer.outcome, body, answer.now, answer.resourceId],
    );
  }

  private settleDoneStatement(settlement: ProvisioningSettlement, userId: string): TransactionStatement {
    return this.sql.query(
      `UPDATE provisioning_requests SET status = 'done', user_id = $2, error = NULL, failure_kind = NULL,
         receive_count = GREATEST(receive_count, $3), completed_at = now()
       WHERE id = $1 AND status <> 'done'`,
      [settlement.id, userId, settlement.receiveCount ?? 0],
    );
  }

  private userStatements(user: AppUser, now: Date): TransactionStatement[] {
    return [
      this.sql.query(
        `INSERT INTO app_users (id, telegram_id, okx_uid, email, plan, display_name, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, true, $7, $7)`,
        [user.id, user.telegramId, user.okxUid, user.email, user.plan, user.displayName, user.createdAt],
      ),
      this.sql.query(
        `INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source, created_at, updated_at)
         VALUES ($1, $2, $3, true, 'registration', $4, $4)`,
        [user.id, user.telegramId, user.okxUid, user.createdAt],
      ),
      ...this.defaultSettings(this.sql, user.id, now),
    ];
  }

  async create(creation: UserCreation): Promise<CreateResult> {
    const { user, key, provisioning } = creation;
    const result = await this.transact("create user", [
      ...(key ? [this.keyStatement(key)] : []),
      ...this.userStatements(user, user.createdAt),
      ...(provisioning ? [this.settleDoneStatement(provisioning, user.id)] : []),
    ]);
    if ("rows" in result) return { kind: "created" };
    return result.violated === KEY_CONSTRAINT ? { kind: "key_taken" } : { kind: "identifiers_taken" };
  }

  async recordExisting(userId: string, key: KeyAnswer | undefined, provisioning: ProvisioningSettlement | undefined): Promise<"recorded" | "key_taken"> {
    const statements = [...(key ? [this.keyStatement(key)] : []), ...(provisioning ? [this.settleDoneStatement(provisioning, userId)] : [])];
    if (statements.length === 0) return "recorded";
    const result = await this.transact("record existing user", statements);
    if ("rows" in result) return "recorded";
    if (result.violated === KEY_CONSTRAINT) return "key_taken";
    throw new UnavailableError(`provisioning store: unexpected unique violation ${result.violated}`);
  }

  findActiveByNaturalKeys(keys: NaturalKeys): Promise<AppUser[]> {
    return this.run("find users", async (sql) => {
      const rows = await sql.query(
        `SELECT ${USER_COLUMNS} FROM app_users
         WHERE is_active AND (lower(email) = $1 OR telegram_id = $2::bigint OR ($3::text IS NOT NULL AND okx_uid = $3))`,
        [keys.email.toLowerCase(), keys.telegramId, keys.okxUid],
      );
      return rows.map(toUser);
    });
  }

  getKey(key: string): Promise<IdempotencyRecord | null> {
    return this.run("read key", async (sql) => {
      const rows = await sql.query(`SELECT ${KEY_COLUMNS} FROM idempotency_records WHERE operation = $1 AND key = $2`, [OP, key]);
      return rows[0] ? toKeyRecord(rows[0]) : null;
    });
  }

  async claimForQueue(claim: QueueClaim): Promise<QueueClaimResult> {
    const result = await this.transact("claim key", [
      this.sql.query(
        `INSERT INTO idempotency_records (operation, key, payload_hash, state, locked_until, resource_id, expires_at)
         VALUES ($1, $2, $3, 'in_progress', $4, $5, $6)`,
        [OP, claim.key, claim.payloadHash, claim.lockedUntil, claim.provisioningId, claim.expiresAt],
      ),
      this.sql.query(`INSERT INTO provisioning_requests (id, idempotency_key, status, request) VALUES ($1, $2, 'pending', $3::jsonb)`, [
        claim.provisioningId,
        claim.key,
        JSON.stringify(claim.request),
      ]),
      this.sql.query(
        `SELECT ${USER_COLUMNS} FROM app_users
         WHERE is_active AND (lower(email) = $1 OR telegram_id = $2::bigint OR ($3::text IS NOT NULL AND okx_uid = $3))`,
        [claim.request.email, claim.request.telegramId, claim.request.okxUid],
      ),
    ]);
    if ("violated" in result) {
      if (result.violated === KEY_CONSTRAINT) return { kind: "key_taken" };
      throw new UnavailableError(`provisioning store: unexpected unique violation ${result.violated}`);
    }
    return { kind: "claimed", matches: (result.rows[2] ?? []).map(toUser) };
  }

  takeOverKey(key: string, payloadHash: string, now: Date, lockedUntil: Date): Promise<IdempotencyRecord | null> {
    return this.run("take over key", async (sql) => {
      const rows = await sql.query(
        `UPDATE idempotency_records SET locked_until = $4
         WHERE operation = $1 AND key = $2 AND payload_hash = $3 AND state = 'in_progress' AND (locked_until IS NULL OR locked_until <= $5)
         RETURNING ${KEY_COLUMNS}`,
        [OP, key, payloadHash, lockedUntil, now],
      );
      return rows[0] ? toKeyRecord(rows[0]) : null;
    });
  }

  async completeKey(answer: KeyAnswer): Promise<void> {
    const result = await this.transact("complete key", [this.keyStatement(answer)]);
    if ("violated" in result) throw new UnavailableError(`provisioning store: unexpected unique violation ${result.violated}`);
  }

  async releaseKey(key: string, provisioningId: string | null): Promise<void> {
    await this.transact("release key", [
      this.sql.query(`DELETE FROM idempotency_records WHERE operation = $1 AND key = $2 AND state = 'in_progress'`, [OP, key]),
      ...(provisioningId ? [this.sql.query(`DELETE FROM provisioning_requests WHERE id = $1 AND status = 'pending'`, [provisioningId])] : []),
    ]);
  }

  deleteExpiredKey(key: string, now: Date): Promise<boolean> {
    return this.run("delete expired key", async (sql) => {
      const rows = await sql.query(`DELETE FROM idempotency_records WHERE operation = $1 AND key = $2 AND expires_at <= $3 RETURNING key`, [OP, key, now]);
      return rows.length > 0;
    });
  }

  purgeExpiredKeys(now: Date, limit: number): Promise<number> {
    return this.run("purge expired keys", async (sql) => {
      const rows = await sql.query(
        `DELETE FROM idempotency_records WHERE (operation, key) IN (
           SELECT operation, key FROM idempotency_records WHERE expires_at <= $1 LIMIT $2
         ) RETURNING key`,
        [now, limit],
      );
      return rows.length;
    });
  }

  getProvisioning(id: string): Promise<ProvisioningRecord | null> {
    return this.run("read provisioning", async (sql) => {
      const rows = await sql.query(`SELECT ${PROVISIONING_COLUMNS} FROM provisioning_requests WHERE id = $1`, [id]);
      return rows[0] ? toProvisioning(rows[0]) : null;
    });
  }

  failProvisioning(id: string, kind: FailureKind, error: string, receiveCount: number): Promise<void> {
    return this.run("fail provisioning", async (sql) => {
      await sql.query(
        `UPDATE provisioning_requests SET status = 'failed', failure_kind = $2, error = $3,
           receive_count = GREATEST(receive_count, $4), completed_at = now()
         WHERE id = $1 AND status <> 'done'`,
        [id, kind, error.slice(0, 1_000), receiveCount],
      );
    });
  }

  reopenExhausted(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.run("reopen provisioning", async (sql) => {
      const rows = await sql.query(
        `UPDATE provisioning_requests SET status = 'pending', failure_kind = NULL, error = NULL, completed_at = NULL
         WHERE id = ANY($1::uuid[]) AND status = 'failed' AND failure_kind = 'exhausted' RETURNING id`,
        [[...ids]],
      );
      return rows.length;
    });
  }

  provisioningCounts(staleBefore: Date): Promise<ProvisioningCounts> {
    return this.run("count provisioning", async (sql) => {
      const [row] = await sql.query(
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
    });
  }

  listProvisioning(status: ProvisioningStatus, limit: number): Promise<ProvisioningRecord[]> {
    return this.run("list provisioning", async (sql) => {
      const rows = await sql.query(`SELECT ${PROVISIONING_COLUMNS} FROM provisioning_requests WHERE status = $1 ORDER BY created_at DESC LIMIT $2`, [status, limit]);
      return rows.map(toProvisioning);
    });
  }
}
