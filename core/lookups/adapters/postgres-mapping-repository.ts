import { ConflictError, UnavailableError } from "../../errors";
import type { Database } from "../../db/database";
import type { Identifier } from "../identifier";
import type { Mapping, MappingSource } from "../model";
import type { MappingChange, MappingInput, MappingRepository } from "../ports";

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
const CONFLICTS: Record<string, string> = {
  user_identifier_mappings_one_active_telegram_id: "telegramId is already mapped to another active user",
  app_users_telegram_id_key: "telegramId already belongs to another user",
  user_identifier_mappings_okx_uid_key: "okxUid is already mapped to another user",
  app_users_okx_uid_key: "okxUid already belongs to another user",
};

/** Unique violations become conflicts; availability failures arrive as UnavailableError already. */
function translate(error: unknown): never {
  const failure = error as { code?: string; constraint?: string };
  if (failure.code === "23505") {
    throw new ConflictError(CONFLICTS[failure.constraint ?? ""] ?? "mapping conflicts with an existing one", { cause: error });
  }
  throw error;
}

/** Mappings in Postgres through Neon's HTTP driver: one bounded round trip per call. */
export class PostgresMappingRepository implements MappingRepository {
  constructor(
    private readonly db: Database,
    /** Counts round trips, for stats and the benchmarks' queries-per-request figure. */
    private readonly onQuery: () => void = () => undefined,
  ) {}

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
   * One non-interactive transaction: lock and read the previous row, upsert the app user, upsert
   * the mapping only when something differs (so re-imports report "unchanged").
   */
  async upsert(input: MappingInput, source: MappingSource): Promise<MappingChange> {
    this.onQuery();
    try {
      const [previousRows, , currentRows] = await this.db.transaction((sql) => [
        sql.query(`SELECT ${COLUMNS} FROM user_identifier_mappings WHERE user_id = $1 FOR UPDATE`, [input.userId]),
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
      ], "mapping write");
      const previous = previousRows?.[0] ? toMapping(previousRows[0]) : null;
      const written = currentRows?.[0] ? toMapping(currentRows[0]) : null;
      const current = written ?? previous;
      if (!current) throw new UnavailableError("mapping upsert returned no row");
      return { previous, current, changed: written !== null };
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      return translate(error);
    }
  }

  async deactivate(userId: string): Promise<MappingChange | null> {
    this.onQuery();
    try {
      const [previousRows, currentRows] = await this.db.transaction((sql) => [
        sql.query(`SELECT ${COLUMNS} FROM user_identifier_mappings WHERE user_id = $1 FOR UPDATE`, [userId]),
        sql.query(
          `UPDATE user_identifier_mappings SET is_active = false WHERE user_id = $1 AND is_active RETURNING ${COLUMNS}`,
          [userId],
        ),
      ], "mapping deactivation");
      const previous = previousRows?.[0] ? toMapping(previousRows[0]) : null;
      if (!previous) return null;
      const written = currentRows?.[0] ? toMapping(currentRows[0]) : null;
      return { previous, current: written ?? previous, changed: written !== null };
    } catch (error) {
      return translate(error);
    }
  }
}
