import { ConflictError } from "../../errors";
import type { Database, Row } from "../../db/database";
import type { OutboxMessage } from "../../outbox/model";
import { LOOKUP_INVALIDATION_TOPIC } from "../invalidation";
import { CONFLICTS } from "./postgres-mapping-repository";
import type { Mapping, MappingSource } from "../model";
import type { ImportDecision, ImportGroup, ImportWrite, ImportWritten, MappingImportStore, StagedImportRow } from "../ports";

const ROWS = "mapping_import_rows";
const GROUPS = "mapping_import_groups";

/** `a (f:1, f:2, f:3 and 4 more)`: the origins of one value, as the report lists them. */
const originList = (shown: string, count: string) => `array_to_string(${shown}, ', ') || CASE WHEN ${count} > 3 THEN ' and ' || (${count} - 3) || ' more' ELSE '' END`;

/**
 * Rows of one user (one telegram id) that disagree on a field: every value with the rows giving
 * it, in order of first appearance. `value` is the field as text ('null' for an explicit null).
 */
const DISAGREE_WITHIN = (field: string, value: string, given: string) => `
WITH vals AS (
  SELECT telegram_id, ${value} AS v, min(idx) AS first, count(*) AS n, (array_agg(origin ORDER BY idx))[1:3] AS shown
  FROM ${ROWS} WHERE import_id = $1 AND ${given} GROUP BY telegram_id, ${value}),
bad AS (
  SELECT telegram_id, 'input rows for the same user disagree on ${field}: ' || string_agg(v || ' (' || ${originList("shown", "n")} || ')', ' vs ' ORDER BY first) AS reason
  FROM vals GROUP BY telegram_id HAVING count(*) > 1)
UPDATE ${GROUPS} g SET conflict = bad.reason FROM bad
WHERE g.import_id = $1 AND g.telegram_id = bad.telegram_id AND g.conflict IS NULL`;

/** Rows of different telegram ids sharing an okx uid or user id: one user given two telegram ids. */
const DISAGREE_ACROSS = (column: string) => `
WITH spans AS (
  SELECT ${column} AS k FROM ${ROWS} WHERE import_id = $1 AND ${column} IS NOT NULL GROUP BY ${column} HAVING count(DISTINCT telegram_id) > 1),
vals AS (
  SELECT r.${column} AS k, r.telegram_id, min(r.idx) AS first, count(*) AS n, (array_agg(r.origin ORDER BY r.idx))[1:3] AS shown
  FROM ${ROWS} r JOIN spans ON spans.k = r.${column} WHERE r.import_id = $1 GROUP BY r.${column}, r.telegram_id),
msgs AS (
  SELECT k, min(first) AS first, 'input rows for the same user disagree on telegramId: ' || string_agg(telegram_id::text || ' (' || ${originList("shown", "n")} || ')', ' vs ' ORDER BY first) AS reason
  FROM vals GROUP BY k),
per AS (SELECT DISTINCT ON (v.telegram_id) v.telegram_id, m.reason FROM vals v JOIN msgs m ON m.k = v.k ORDER BY v.telegram_id, m.first)
UPDATE ${GROUPS} g SET conflict = per.reason FROM per
WHERE g.import_id = $1 AND g.telegram_id = per.telegram_id AND g.conflict IS NULL`;

/** A function, not a constant, so that a bundle that never imports leaves this module out (no top-level calls). */
const claimsSql = () => `
WITH claimed AS (
  SELECT target FROM ${GROUPS} WHERE import_id = $1 AND conflict IS NULL AND target IS NOT NULL GROUP BY target HAVING count(*) > 1),
origins AS (
  SELECT g.target, count(*) AS n, (array_agg(r.origin ORDER BY g.first_idx, r.idx))[1:3] AS shown
  FROM ${GROUPS} g JOIN claimed c ON c.target = g.target JOIN ${ROWS} r ON r.import_id = g.import_id AND r.telegram_id = g.telegram_id
  WHERE g.import_id = $1 AND g.conflict IS NULL GROUP BY g.target)
UPDATE ${GROUPS} g SET conflict = 'several input rows resolve to user ' || o.target || ': ' || ${originList("o.shown", "o.n")}
FROM origins o WHERE g.import_id = $1 AND g.target = o.target AND g.conflict IS NULL`;

/**
 * A batch of imported mappings in one statement: app users, mappings (only where something
 * differs, so re-imports change nothing) and one outbox row of the lookup invalidation topic
 * naming the identifiers of the old and new state of every mapping that changed (the payload the
 * mapping repository writes for one mapping, core/lookups/invalidation.ts, for the whole batch:
 * one row to write, deliver and delete instead of a thousand). The previous rows are read by the
 * same statement, before its writes. Returns one row per input mapping, then the outbox row.
 */
const writeBatchSql = () => `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::boolean[]) AS t(user_id, telegram_id, okx_uid, is_active)),
prev AS (SELECT m.user_id, m.telegram_id, m.okx_uid FROM user_identifier_mappings m JOIN input USING (user_id)),
users AS (
  INSERT INTO app_users (id, telegram_id, okx_uid, is_active) SELECT user_id, telegram_id, okx_uid, is_active FROM input
  ON CONFLICT (id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid, is_active = EXCLUDED.is_active
  WHERE (app_users.telegram_id, app_users.okx_uid, app_users.is_active) IS DISTINCT FROM (EXCLUDED.telegram_id, EXCLUDED.okx_uid, EXCLUDED.is_active)
  RETURNING id),
written AS (
  INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source)
  SELECT user_id, telegram_id, okx_uid, is_active, $7 FROM input
  ON CONFLICT (user_id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid, is_active = EXCLUDED.is_active, source = EXCLUDED.source
  WHERE (user_identifier_mappings.telegram_id, user_identifier_mappings.okx_uid, user_identifier_mappings.is_active)
    IS DISTINCT FROM (EXCLUDED.telegram_id, EXCLUDED.okx_uid, EXCLUDED.is_active)
  RETURNING user_id, telegram_id, okx_uid),
owed AS (
  SELECT 'user_id' AS kind, user_id::text AS value FROM written
  UNION SELECT 'telegram_id', telegram_id::text FROM written
  UNION SELECT 'okx_uid', okx_uid FROM written WHERE okx_uid IS NOT NULL
  UNION SELECT 'telegram_id', p.telegram_id::text FROM prev p JOIN written w USING (user_id)
  UNION SELECT 'okx_uid', p.okx_uid FROM prev p JOIN written w USING (user_id) WHERE p.okx_uid IS NOT NULL),
box AS (
  INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
  SELECT $5::uuid, '${LOOKUP_INVALIDATION_TOPIC}', $6::text,
    jsonb_build_object('identifiers', jsonb_agg(jsonb_build_object('kind', kind, 'value', value) ORDER BY kind, value)),
    now() + $8::int * interval '1 millisecond'
  FROM owed HAVING count(*) > 0
  RETURNING id, payload)
SELECT i.user_id, (p.user_id IS NULL) AS inserted, (w.user_id IS NOT NULL) AS changed, NULL::uuid AS message_id, NULL::jsonb AS payload
FROM input i LEFT JOIN prev p USING (user_id) LEFT JOIN written w USING (user_id)
UNION ALL SELECT NULL, NULL, NULL, id, payload FROM box`;

const LOCK_USERS = "SELECT count(pg_advisory_xact_lock(hashtextextended('user:' || u::text, 0))) FROM (SELECT u FROM unnest($1::uuid[]) u ORDER BY u::text) s";

const MAPPING_COLUMNS = "user_id, telegram_id::text AS telegram_id, okx_uid, is_active, source, created_at, updated_at";

function toMapping(row: Row): Mapping {
  return {
    userId: String(row.user_id),
    telegramId: String(row.telegram_id),
    okxUid: row.okx_uid === null ? null : String(row.okx_uid),
    isActive: row.is_active === true,
    source: row.source as MappingSource,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

function toGroup(row: Row): ImportGroup {
  return {
    telegramId: String(row.telegram_id),
    firstIdx: Number(row.first_idx),
    rowCount: Number(row.row_count),
    okxUid: row.okx_given === true ? (row.okx_uid === null ? null : String(row.okx_uid)) : undefined,
    userId: row.user_id === null ? undefined : String(row.user_id),
    isActive: row.is_active === null ? undefined : row.is_active === true,
  };
}

export interface PostgresMappingImportOptions {
  /** Ids of the outbox rows the writes owe. */
  readonly messageId: () => string;
  /** Left to the writer before a drain may deliver its invalidations (the outbox's writer grace). */
  readonly writerGraceMs: number;
}

/** The import's scratch tables (migration 0005) and its batched writes, through the Neon driver. */
export class PostgresMappingImport implements MappingImportStore {
  constructor(
    private readonly db: Database,
    private readonly options: PostgresMappingImportOptions,
  ) {}

  async purgeAbandoned(): Promise<void> {
    await this.db.query(`DELETE FROM ${ROWS} WHERE created_at < now() - interval '1 day'`, [], "import clean-up");
    await this.db.query(`DELETE FROM ${GROUPS} WHERE created_at < now() - interval '1 day'`, [], "import clean-up");
  }

  async stage(importId: string, rows: readonly StagedImportRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.query(
      `INSERT INTO ${ROWS} (import_id, idx, origin, telegram_id, okx_given, okx_uid, user_id, is_active)
       SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::boolean[], $6::text[], $7::uuid[], $8::boolean[])`,
      [
        importId,
        rows.map((row) => row.idx),
        rows.map((row) => row.origin),
        rows.map((row) => row.telegramId),
        rows.map((row) => row.okxUid !== undefined),
        rows.map((row) => row.okxUid ?? null),
        rows.map((row) => row.userId ?? null),
        rows.map((row) => row.isActive ?? null),
      ],
      "import staging",
    );
  }

  async groupAndCheckInput(importId: string): Promise<number> {
    const inserted = await this.db.query(
      `INSERT INTO ${GROUPS} (import_id, telegram_id, first_idx, row_count, okx_given, okx_uid, user_id, is_active)
       SELECT $1, telegram_id, min(idx), count(*), bool_or(okx_given),
         (array_agg(okx_uid ORDER BY idx) FILTER (WHERE okx_uid IS NOT NULL))[1],
         (array_agg(user_id ORDER BY idx) FILTER (WHERE user_id IS NOT NULL))[1],
         (array_agg(is_active ORDER BY idx) FILTER (WHERE is_active IS NOT NULL))[1]
       FROM ${ROWS} WHERE import_id = $1 GROUP BY telegram_id
       RETURNING 1`,
      [importId],
      "import grouping",
    );
    // In the order the checks are reported: telegram id first (one user, two telegram ids), then the other fields.
    const checks = [
      DISAGREE_ACROSS("okx_uid"),
      DISAGREE_ACROSS("user_id"),
      DISAGREE_WITHIN("okxUid", "coalesce(okx_uid, 'null')", "okx_given"),
      DISAGREE_WITHIN("userId", "user_id::text", "user_id IS NOT NULL"),
      DISAGREE_WITHIN("isActive", "is_active::text", "is_active IS NOT NULL"),
    ];
    for (const check of checks) await this.db.query(check, [importId], "import input check");
    return inserted.length;
  }

  async undecided(importId: string, afterIdx: number, limit: number): Promise<{ groups: ImportGroup[]; related: Mapping[] }> {
    const rows = await this.db.query(
      `SELECT telegram_id::text AS telegram_id, first_idx, row_count, okx_given, okx_uid, user_id, is_active FROM ${GROUPS}
       WHERE import_id = $1 AND first_idx > $2 AND conflict IS NULL ORDER BY first_idx LIMIT $3`,
      [importId, afterIdx, limit],
      "import planning",
    );
    const groups = rows.map(toGroup);
    if (groups.length === 0) return { groups, related: [] };
    const related = await this.db.query(
      `SELECT ${MAPPING_COLUMNS} FROM user_identifier_mappings
       WHERE telegram_id = ANY($1::bigint[]) OR okx_uid = ANY($2::text[]) OR user_id = ANY($3::uuid[])
       ORDER BY updated_at DESC`,
      [groups.map((g) => g.telegramId), groups.flatMap((g) => (typeof g.okxUid === "string" ? [g.okxUid] : [])), groups.flatMap((g) => (g.userId ? [g.userId] : []))],
      "import planning",
    );
    return { groups, related: related.map(toMapping) };
  }

  async decide(importId: string, decisions: readonly ImportDecision[]): Promise<void> {
    if (decisions.length === 0) return;
    const write = (d: ImportDecision) => (d.conflict === undefined ? d : null);
    await this.db.query(
      `UPDATE ${GROUPS} g SET conflict = d.conflict, target = d.target, final_okx_uid = d.okx_uid, final_is_active = d.is_active, outcome = d.outcome
       FROM unnest($2::bigint[], $3::text[], $4::uuid[], $5::text[], $6::boolean[], $7::text[]) AS d(telegram_id, conflict, target, okx_uid, is_active, outcome)
       WHERE g.import_id = $1 AND g.telegram_id = d.telegram_id`,
      [
        importId,
        decisions.map((d) => d.telegramId),
        decisions.map((d) => d.conflict ?? null),
        decisions.map((d) => write(d)?.target ?? null),
        decisions.map((d) => write(d)?.okxUid ?? null),
        decisions.map((d) => write(d)?.isActive ?? null),
        decisions.map((d) => write(d)?.outcome ?? null),
      ],
      "import planning",
    );
  }

  async checkClaims(importId: string): Promise<void> {
    await this.db.query(claimsSql(), [importId], "import planning");
  }

  async plannedCounts(importId: string) {
    const [row] = await this.db.query(
      `SELECT count(*) FILTER (WHERE conflict IS NULL AND outcome = 'inserted')::int AS inserted,
         count(*) FILTER (WHERE conflict IS NULL AND outcome = 'updated')::int AS updated,
         count(*) FILTER (WHERE conflict IS NULL AND outcome = 'unchanged')::int AS unchanged,
         coalesce(sum(row_count) FILTER (WHERE conflict IS NOT NULL), 0)::int AS conflicting,
         coalesce(sum(row_count - 1) FILTER (WHERE conflict IS NULL), 0)::int AS duplicates
       FROM ${GROUPS} WHERE import_id = $1`,
      [importId],
      "import counts",
    );
    return { inserted: Number(row?.inserted ?? 0), updated: Number(row?.updated ?? 0), unchanged: Number(row?.unchanged ?? 0), conflicting: Number(row?.conflicting ?? 0), duplicates: Number(row?.duplicates ?? 0) };
  }

  async writes(importId: string, afterIdx: number, limit: number): Promise<ImportWrite[]> {
    const rows = await this.db.query(
      `SELECT g.first_idx, g.row_count, r.origin, g.target, g.telegram_id::text AS telegram_id, g.final_okx_uid, g.final_is_active
       FROM ${GROUPS} g JOIN ${ROWS} r ON r.import_id = g.import_id AND r.idx = g.first_idx
       WHERE g.import_id = $1 AND g.first_idx > $2 AND g.conflict IS NULL AND g.outcome IN ('inserted', 'updated')
       ORDER BY g.first_idx LIMIT $3`,
      [importId, afterIdx, limit],
      "import writes",
    );
    return rows.map((row) => ({
      firstIdx: Number(row.first_idx),
      rowCount: Number(row.row_count),
      origin: String(row.origin),
      target: row.target === null ? null : String(row.target),
      telegramId: String(row.telegram_id),
      okxUid: row.final_okx_uid === null ? null : String(row.final_okx_uid),
      isActive: row.final_is_active === true,
    }));
  }

  async writeBatch(writes: readonly (ImportWrite & { readonly userId: string })[]): Promise<{ written: ImportWritten[]; invalidations: OutboxMessage[] }> {
    const userIds = writes.map((w) => w.userId);
    const messageId = this.options.messageId();
    const key = `import:${writes[0]?.firstIdx ?? 0}:${messageId}`;
    let results: Row[][];
    try {
      results = await this.db.transaction(
        (sql) => [
          sql.query(LOCK_USERS, [userIds]),
          sql.query(writeBatchSql(), [
            userIds,
            writes.map((w) => w.telegramId),
            writes.map((w) => w.okxUid),
            writes.map((w) => w.isActive),
            messageId,
            key,
            "import",
            this.options.writerGraceMs,
          ]),
        ],
        "import batch",
      );
    } catch (error) {
      const failure = error as { code?: string; constraint?: string };
      if (failure.code === "23505") throw new ConflictError(CONFLICTS[failure.constraint ?? ""] ?? "mapping conflicts with an existing one", { cause: error });
      throw error;
    }
    const rows = results[1] ?? [];
    return {
      written: rows.filter((row) => row.user_id !== null).map((row) => ({ userId: String(row.user_id), inserted: row.inserted === true, changed: row.changed === true })),
      invalidations: rows
        .filter((row) => row.message_id !== null)
        .map((row) => ({ id: String(row.message_id), topic: LOOKUP_INVALIDATION_TOPIC, key, payload: (row.payload ?? {}) as Record<string, unknown> })),
    };
  }

  async conflicts(importId: string, limit: number): Promise<{ idx: number; origin: string; reason: string }[]> {
    const rows = await this.db.query(
      `SELECT r.idx, r.origin, g.conflict FROM ${ROWS} r JOIN ${GROUPS} g ON g.import_id = r.import_id AND g.telegram_id = r.telegram_id
       WHERE r.import_id = $1 AND g.conflict IS NOT NULL ORDER BY r.idx LIMIT $2`,
      [importId, limit],
      "import report",
    );
    return rows.map((row) => ({ idx: Number(row.idx), origin: String(row.origin), reason: String(row.conflict) }));
  }

  async drop(importId: string): Promise<void> {
    await this.db.query(`DELETE FROM ${ROWS} WHERE import_id = $1`, [importId], "import clean-up");
    await this.db.query(`DELETE FROM ${GROUPS} WHERE import_id = $1`, [importId], "import clean-up");
  }
}
