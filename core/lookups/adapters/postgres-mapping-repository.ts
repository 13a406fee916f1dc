import { ConflictError, UnavailableError } from "../../errors";
import type { NeonQueryInTransaction } from "@neondatabase/serverless";
import { randomIds } from "../../clock";
import type { IdGenerator } from "../../clock";
import type { Database, TransactionSql } from "../../db/database";
import { defaultOutboxOptions } from "../../outbox/adapters/postgres-outbox";
import type { OutboxMessage } from "../../outbox/model";
import type { Identifier } from "../identifier";
import { LOOKUP_INVALIDATION_TOPIC } from "../invalidation";
import type { Mapping, MappingSource } from "../model";
import type { MappingChange, MappingInput, MappingPatch, MappingRepository } from "../ports";

interface MappingRow {
  user_id: string;
  telegram_id: string;
  okx_uid: string | null;
  is_active: boolean;
  source: MappingSource;
  created_at: Date;
  updated_at: Date;
}

const KIND_COLUMNS = [
  ["user_id", "user_id", "uuid"],
  ["okx_uid", "okx_uid", "text"],
  ["telegram_id", "telegram_id", "bigint"],
] as const;

const COLUMNS = "user_id, telegram_id::text AS telegram_id, okx_uid, is_active, source, created_at, updated_at";

function toMapping(row: Record<string, unknown>): Mapping {
  const r = row as unknown as MappingRow;
  return {
    userId: r.user_id,
    telegramId: String(r.telegram_id),
    okxUid: r.okx_uid,
    isActive: r.is_active,
    source: r.source,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Names a unique violation in terms a caller can act on, instead of a constraint name. */
export const CONFLICTS: Record<string, string> = {
  user_identifier_mappings_one_active_telegram_id: "telegramId is already mapped to another active user",
  app_users_active_telegram_id: "telegramId already belongs to another active user",
  user_identifier_mappings_one_active_okx_uid: "okxUid is already mapped to another active user",
  app_users_active_okx_uid: "okxUid already belongs to another active user",
  app_users_active_email: "email already belongs to another active user",
};

/** Unique violations become conflicts; availability failures arrive as UnavailableError already. */
function translate(error: unknown): never {
  const failure = error as { code?: string; constraint?: string };
  if (failure.code === "23505") {
    throw new ConflictError(CONFLICTS[failure.constraint ?? ""] ?? "mapping conflicts with an existing one", { cause: error });
  }
  throw error;
}

/**
 * The mapping as a change leaves it: a SELECT of one row (telegram_id bigint, okx_uid text,
 * is_active boolean) or none, which may read the row before the change as `prev`; its parameters
 * are numbered from $4.
 */
interface NextState {
  readonly select: string;
  readonly params: readonly unknown[];
}

/**
 * Writes the lookup invalidation a change owes (core/lookups/invalidation.ts) into the outbox, in
 * the change's transaction and before its updates, so it still sees the previous row: one row
 * naming every identifier of the old and the new state, and only when the mapping changes.
 */
const ENQUEUE_INVALIDATION = (nextSelect: string) => `WITH prev AS (SELECT telegram_id, okx_uid, is_active FROM user_identifier_mappings WHERE user_id = $1::uuid),
  next AS (${nextSelect})
INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
SELECT $2::uuid, '${LOOKUP_INVALIDATION_TOPIC}', $1::uuid::text,
  jsonb_build_object('identifiers', (
    SELECT jsonb_agg(jsonb_build_object('kind', i.kind, 'value', i.value) ORDER BY i.kind, i.value) FROM (
      SELECT 'user_id' AS kind, $1::uuid::text AS value
      UNION SELECT 'telegram_id', telegram_id::text FROM prev
      UNION SELECT 'okx_uid', okx_uid FROM prev WHERE okx_uid IS NOT NULL
      UNION SELECT 'telegram_id', telegram_id::text FROM next
      UNION SELECT 'okx_uid', okx_uid FROM next WHERE okx_uid IS NOT NULL) i)),
  now() + $3::int * interval '1 millisecond'
FROM next
WHERE NOT EXISTS (SELECT 1 FROM prev WHERE (prev.telegram_id, prev.okx_uid, prev.is_active) IS NOT DISTINCT FROM (next.telegram_id, next.okx_uid, next.is_active))
RETURNING id, topic, key, payload`;

function toMessage(row: Record<string, unknown> | undefined): OutboxMessage | null {
  if (!row) return null;
  return { id: String(row.id), topic: String(row.topic), key: String(row.key), payload: (row.payload ?? {}) as Record<string, unknown> };
}

export interface PostgresMappingRepositoryOptions {
  /** Counts round trips, for stats and the benchmarks' queries-per-request figure. */
  readonly onQuery?: () => void;
  /** Ids of the outbox rows changes write. */
  readonly ids?: IdGenerator;
  /** Left to the writer before a drain may deliver its invalidation (the outbox's writer grace). */
  readonly writerGraceMs?: number;
}

/** Mappings in Postgres through Neon's HTTP driver: one bounded round trip per call. */
export class PostgresMappingRepository implements MappingRepository {
  private readonly onQuery: () => void;
  private readonly ids: IdGenerator;
  private readonly writerGraceMs: number;

  constructor(
    private readonly db: Database,
    options: PostgresMappingRepositoryOptions = {},
  ) {
    this.onQuery = options.onQuery ?? (() => undefined);
    this.ids = options.ids ?? randomIds;
    this.writerGraceMs = options.writerGraceMs ?? defaultOutboxOptions.writerGraceMs;
  }

  /** Only the conditions of the kinds present, so a single lookup is a plain index probe. */
  async findMappings(identifiers: readonly Identifier[]): Promise<Mapping[]> {
    if (identifiers.length === 0) return [];
    const conditions: string[] = [];
    const params: string[][] = [];
    for (const [kind, column, type] of KIND_COLUMNS) {
      const values = identifiers.filter((id) => id.kind === kind).map((id) => id.value);
      if (values.length === 0) continue;
      params.push(values);
      conditions.push(`${column} = ANY($${params.length}::${type}[])`);
    }
    this.onQuery();
    try {
      const rows = await this.db.query(`SELECT ${COLUMNS} FROM user_identifier_mappings WHERE ${conditions.join(" OR ")}`, params, "mapping lookup");
      return rows.map(toMapping);
    } catch (error) {
      return translate(error);
    }
  }

  async getByUserId(userId: string): Promise<Mapping | null> {
    this.onQuery();
    try {
      const rows = await this.db.query(`SELECT ${COLUMNS} FROM user_identifier_mappings WHERE user_id = $1`, [userId], "mapping read");
      return rows[0] ? toMapping(rows[0]) : null;
    } catch (error) {
      return translate(error);
    }
  }

  async search(filter: { telegramId?: string | undefined; okxUid?: string | undefined }): Promise<Mapping[]> {
    this.onQuery();
    try {
      const rows = await this.db.query(
        `SELECT ${COLUMNS} FROM user_identifier_mappings
         WHERE ($1::bigint IS NULL OR telegram_id = $1::bigint) AND ($2::text IS NULL OR okx_uid = $2)
         ORDER BY updated_at DESC LIMIT 100`,
        [filter.telegramId ?? null, filter.okxUid ?? null],
        "mapping search",
      );
      return rows.map(toMapping);
    } catch (error) {
      return translate(error);
    }
  }

  /**
   * One non-interactive transaction: take the user's write lock, read the previous row, upsert the
   * app user, upsert the mapping only when something differs (so re-imports report "unchanged").
   */
  async upsert(input: MappingInput, source: MappingSource): Promise<MappingChange> {
    const next = { select: "SELECT $4::bigint AS telegram_id, $5::text AS okx_uid, $6::boolean AS is_active", params: [input.telegramId, input.okxUid, input.isActive] };
    const change = await this.change(input.userId, "mapping write", next, (sql) => [
      sql.query(
        `INSERT INTO app_users (id, telegram_id, okx_uid, is_active) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid, is_active = EXCLUDED.is_active
         WHERE (app_users.telegram_id, app_users.okx_uid, app_users.is_active)
           IS DISTINCT FROM (EXCLUDED.telegram_id, EXCLUDED.okx_uid, EXCLUDED.is_active)`,
        [input.userId, input.telegramId, input.okxUid, input.isActive],
      ),
      sql.query(
        `INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid,
           is_active = EXCLUDED.is_active, source = EXCLUDED.source
         WHERE (user_identifier_mappings.telegram_id, user_identifier_mappings.okx_uid, user_identifier_mappings.is_active)
           IS DISTINCT FROM (EXCLUDED.telegram_id, EXCLUDED.okx_uid, EXCLUDED.is_active)
         RETURNING ${COLUMNS}`,
        [input.userId, input.telegramId, input.okxUid, input.isActive, source],
      ),
    ]);
    if (!change) throw new UnavailableError("mapping upsert returned no row");
    return change;
  }

  /**
   * A merge in SQL, under the user's write lock: what the patch leaves out is read from the row
   * itself, so two PATCHes of different fields never undo each other.
   */
  async patch(userId: string, patch: MappingPatch, source: MappingSource): Promise<MappingChange | null> {
    const params = [userId, patch.telegramId ?? null, patch.okxUid !== undefined, patch.okxUid ?? null, patch.isActive ?? null];
    const merged = "COALESCE($2::bigint, telegram_id), CASE WHEN $3::boolean THEN $4::text ELSE okx_uid END, COALESCE($5::boolean, is_active)";
    const next = {
      select: `SELECT COALESCE($4::bigint, telegram_id) AS telegram_id, CASE WHEN $5::boolean THEN $6::text ELSE okx_uid END AS okx_uid,
        COALESCE($7::boolean, is_active) AS is_active FROM prev`,
      params: params.slice(1),
    };
    return this.change(userId, "mapping patch", next, (sql) => [
      sql.query(
        `UPDATE app_users SET (telegram_id, okx_uid, is_active) = (${merged})
         WHERE id = $1 AND (telegram_id, okx_uid, is_active) IS DISTINCT FROM (${merged})`,
        params,
      ),
      sql.query(
        `UPDATE user_identifier_mappings SET (telegram_id, okx_uid, is_active, source) = (${merged}, $6)
         WHERE user_id = $1 AND (telegram_id, okx_uid, is_active) IS DISTINCT FROM (${merged})
         RETURNING ${COLUMNS}`,
        [...params, source],
      ),
    ]);
  }

  /** The app user goes inactive with its mapping, so its identifiers are free for others (0003). */
  async deactivate(userId: string): Promise<MappingChange | null> {
    const next = { select: "SELECT telegram_id, okx_uid, false AS is_active FROM prev", params: [] };
    return this.change(userId, "mapping deactivation", next, (sql) => [
      sql.query("UPDATE app_users SET is_active = false WHERE id = $1 AND is_active", [userId]),
      sql.query(`UPDATE user_identifier_mappings SET is_active = false WHERE user_id = $1 AND is_active RETURNING ${COLUMNS}`, [userId]),
    ]);
  }

  /**
   * Runs a change of one user's mapping in one transaction. Writers of the same user queue on a
   * transaction-scoped advisory lock taken before any row lock, so concurrent writes of one user
   * run one after another and two transactions never hold the app_users row and the mapping row
   * in opposite order (the 40P01 deadlock). Statements of `build` run after the previous row is
   * read, after the outbox row of the invalidation it owes (`next`: the row as the change leaves
   * it); the last one returns the written row (none when nothing changed). Null: no mapping.
   */
  private async change(userId: string, what: string, next: NextState, build: (sql: TransactionSql) => NeonQueryInTransaction[]): Promise<MappingChange | null> {
    this.onQuery();
    try {
      const results = await this.db.transaction(
        (sql) => [
          sql.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`user:${userId}`]),
          sql.query(`SELECT ${COLUMNS} FROM user_identifier_mappings WHERE user_id = $1`, [userId]),
          sql.query(ENQUEUE_INVALIDATION(next.select), [userId, this.ids.uuid(), this.writerGraceMs, ...next.params]),
          ...build(sql),
        ],
        what,
      );
      const previousRow = results[1]?.[0];
      const writtenRow = results.at(-1)?.[0];
      const previous = previousRow ? toMapping(previousRow) : null;
      const written = writtenRow ? toMapping(writtenRow) : null;
      const current = written ?? previous;
      return current ? { previous, current, changed: written !== null, invalidation: toMessage(results[2]?.[0]) } : null;
    } catch (error) {
      return translate(error);
    }
  }
}
