import { ConflictError } from "../../errors";
import type { Database, Row } from "../../db/database";
import type { OutboxMessage } from "../../outbox/model";
import { LOOKUP_INVALIDATION_TOPIC } from "../invalidation";
import { CONFLICTS } from "./postgres-mapping-repository";
import type { ImportWindow, ImportWrite, ImportWritten, MappingImportStore, StagedImportRow } from "../ports";

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

/** The groups of one window of input positions ($2 <= first_idx < $3) that are still undecided / planned to be written. */
const inWindow = (t = "") => `${t}import_id = $1 AND ${t}first_idx >= $2 AND ${t}first_idx < $3 AND ${t}conflict IS NULL`;
const toWrite = (t = "") => `${inWindow(t)} AND ${t}outcome IN ('inserted', 'updated')`;

/**
 * For the import's statements, in their transaction. Their cost estimates can pass
 * jit_above_cost (a thousand index probes, priced high on tables without fresh statistics), and
 * compiling them would take seconds for work of milliseconds.
 */
const NO_JIT = "SELECT set_config('jit', 'off', true)";

/**
 * The plan of one window, set-based: each group is resolved to the user it updates (by user id,
 * else the user holding its okx uid, else the one holding its telegram id: the active one first),
 * checked against the identifiers of every other stored mapping, and given its final state and
 * outcome; the rules are import.ts's. Mappings are taken newest first where several match.
 */
const planSql = () => `
WITH g AS (SELECT telegram_id, okx_given, okx_uid, user_id, is_active FROM ${GROUPS} WHERE ${inWindow()}),
resolved AS (
  SELECT g.*, CASE WHEN g.user_id IS NOT NULL THEN g.user_id ELSE coalesce(by_okx.user_id, owner.user_id) END AS target,
    CASE WHEN g.user_id IS NULL AND by_okx.user_id IS NULL AND g.okx_uid IS NOT NULL AND owner.okx_uid IS NOT NULL AND owner.okx_uid <> g.okx_uid
      THEN 'telegramId ' || g.telegram_id || ' is mapped to user ' || owner.user_id || ' with another okxUid; give user_id to change it' END AS conflict
  FROM g
  LEFT JOIN LATERAL (SELECT m.user_id FROM user_identifier_mappings m WHERE g.user_id IS NULL AND m.okx_uid = g.okx_uid ORDER BY m.updated_at DESC LIMIT 1) by_okx ON true
  LEFT JOIN LATERAL (SELECT m.user_id, m.okx_uid FROM user_identifier_mappings m WHERE g.user_id IS NULL AND m.telegram_id = g.telegram_id
    ORDER BY m.is_active DESC, m.updated_at DESC LIMIT 1) owner ON true),
decided AS MATERIALIZED (
  SELECT r.telegram_id, r.target, e.user_id AS e_user, e.telegram_id AS e_telegram, e.okx_uid AS e_okx, e.is_active AS e_active,
    coalesce(r.conflict,
      (SELECT 'telegramId ' || r.telegram_id || ' already belongs to user ' || m.user_id FROM user_identifier_mappings m
        WHERE m.telegram_id = r.telegram_id AND m.user_id IS DISTINCT FROM r.target ORDER BY m.updated_at DESC LIMIT 1),
      (SELECT 'okxUid ' || r.okx_uid || ' already belongs to user ' || m.user_id FROM user_identifier_mappings m
        WHERE m.okx_uid = r.okx_uid AND m.user_id IS DISTINCT FROM r.target ORDER BY m.updated_at DESC LIMIT 1)) AS conflict,
    CASE WHEN r.okx_given THEN r.okx_uid ELSE e.okx_uid END AS okx_uid,
    coalesce(r.is_active, e.is_active, true) AS is_active
  FROM resolved r LEFT JOIN user_identifier_mappings e ON e.user_id = r.target),
planned AS (
  UPDATE ${GROUPS} g SET conflict = d.conflict,
    target = CASE WHEN d.conflict IS NULL THEN d.target END,
    final_okx_uid = CASE WHEN d.conflict IS NULL THEN d.okx_uid END,
    final_is_active = CASE WHEN d.conflict IS NULL THEN d.is_active END,
    outcome = CASE WHEN d.conflict IS NOT NULL THEN NULL WHEN d.e_user IS NULL THEN 'inserted'
      WHEN d.e_telegram = d.telegram_id AND d.e_okx IS NOT DISTINCT FROM d.okx_uid AND d.e_active = d.is_active THEN 'unchanged' ELSE 'updated' END
  FROM decided d WHERE g.import_id = $1 AND g.telegram_id = d.telegram_id
  RETURNING 1)
SELECT count(*)::int AS n FROM planned`;

/**
 * Takes the write locks of the window's existing users, in one order (no deadlock with another
 * writer taking several). New users' ids are drawn just now and known to no other writer.
 */
const lockSql = () => `
SELECT count(pg_advisory_xact_lock(hashtextextended('user:' || target::text, 0)))
FROM (SELECT target FROM ${GROUPS} WHERE ${toWrite()} AND target IS NOT NULL ORDER BY target::text) s`;

/**
 * The planned writes of one window in one statement, read from the scratch tables (nothing but the
 * new users' ids, $4 in input order, travels): app users, mappings (only where something differs,
 * so re-imports change nothing) and one outbox row of the lookup invalidation topic naming the
 * identifiers of the old and new state of every mapping that changed (the payload the mapping
 * repository writes for one mapping, core/lookups/invalidation.ts, for the whole batch: one row
 * to write, deliver and delete instead of a thousand), but for the user ids drawn for this batch:
 * no lookup can have cached an answer for an id that did not exist. The previous rows are read by
 * the same statement, before its writes. Returns one row per mapping written, then the outbox row. (The
 * scratch tables' statistics predate the plan, so the planner takes the window for a row or two:
 * the origin is one index probe per row and the membership tests are hashed subplans, never a
 * nested loop over another table.)
 */
const writeWindowSql = () => `
WITH input AS (
  SELECT g.first_idx, g.target IS NULL AS fresh, g.telegram_id, g.final_okx_uid AS okx_uid, g.final_is_active AS is_active,
    coalesce(g.target, ($4::uuid[])[row_number() OVER (PARTITION BY g.target IS NULL ORDER BY g.first_idx)]) AS user_id
  FROM ${GROUPS} g WHERE ${toWrite()}),
prev AS (SELECT m.user_id, m.telegram_id, m.okx_uid FROM user_identifier_mappings m JOIN input i ON i.user_id = m.user_id AND NOT i.fresh),
users AS (
  INSERT INTO app_users (id, telegram_id, okx_uid, is_active) SELECT user_id, telegram_id, okx_uid, is_active FROM input
  ON CONFLICT (id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid, is_active = EXCLUDED.is_active
  WHERE (app_users.telegram_id, app_users.okx_uid, app_users.is_active) IS DISTINCT FROM (EXCLUDED.telegram_id, EXCLUDED.okx_uid, EXCLUDED.is_active)
  RETURNING id),
written AS (
  INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source)
  SELECT user_id, telegram_id, okx_uid, is_active, 'import' FROM input
  ON CONFLICT (user_id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid, is_active = EXCLUDED.is_active, source = EXCLUDED.source
  WHERE (user_identifier_mappings.telegram_id, user_identifier_mappings.okx_uid, user_identifier_mappings.is_active)
    IS DISTINCT FROM (EXCLUDED.telegram_id, EXCLUDED.okx_uid, EXCLUDED.is_active)
  RETURNING user_id, telegram_id, okx_uid),
owed AS (
  SELECT 'user_id' AS kind, user_id::text AS value FROM written WHERE NOT (user_id = ANY($4::uuid[]))
  UNION SELECT 'telegram_id', telegram_id::text FROM written
  UNION SELECT 'okx_uid', okx_uid FROM written WHERE okx_uid IS NOT NULL
  UNION SELECT 'telegram_id', p.telegram_id::text FROM prev p JOIN written w USING (user_id)
  UNION SELECT 'okx_uid', p.okx_uid FROM prev p JOIN written w USING (user_id) WHERE p.okx_uid IS NOT NULL),
box AS (
  INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
  SELECT $5::uuid, '${LOOKUP_INVALIDATION_TOPIC}', $6::text,
    jsonb_build_object('identifiers', jsonb_agg(jsonb_build_object('kind', kind, 'value', value) ORDER BY kind, value)),
    now() + $7::int * interval '1 millisecond'
  FROM owed HAVING count(*) > 0
  RETURNING id, payload)
SELECT i.user_id, (SELECT r.origin FROM ${ROWS} r WHERE r.import_id = $1 AND r.idx = i.first_idx) AS origin,
  NOT (i.user_id IN (SELECT user_id FROM prev)) AS inserted, i.user_id IN (SELECT user_id FROM written) AS changed,
  NULL::uuid AS message_id, NULL::jsonb AS payload
FROM input i
UNION ALL SELECT NULL, NULL, NULL, NULL, id, payload FROM box`;

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
    const [counts] = await this.db.query(
      `WITH grouped AS (
         INSERT INTO ${GROUPS} (import_id, telegram_id, first_idx, row_count, okx_given, okx_uid, user_id, is_active)
         SELECT $1, telegram_id, min(idx), count(*), bool_or(okx_given),
           (array_agg(okx_uid ORDER BY idx) FILTER (WHERE okx_uid IS NOT NULL))[1],
           (array_agg(user_id ORDER BY idx) FILTER (WHERE user_id IS NOT NULL))[1],
           (array_agg(is_active ORDER BY idx) FILTER (WHERE is_active IS NOT NULL))[1]
         FROM ${ROWS} WHERE import_id = $1 GROUP BY telegram_id
         RETURNING row_count)
       SELECT count(*)::int AS groups, coalesce(sum(row_count), 0)::int AS rows FROM grouped`,
      [importId],
      "import grouping",
    );
    const groups = Number(counts?.groups ?? 0);
    // Fresh statistics for the scratch tables (autovacuum may not have run, and another run's are
    // stale): without them the planner takes this run's rows for a handful, and the whole-input
    // checks below turn into nested loops over them, quadratic in the input (minutes at 40,000).
    await this.db.query(`ANALYZE ${ROWS}, ${GROUPS}`, [], "import grouping");
    // In the order the checks are reported: telegram id first (one user, two telegram ids), then the
    // other fields, which only rows of one telegram id can disagree on (none when no id repeats).
    const checks = [DISAGREE_ACROSS("okx_uid"), DISAGREE_ACROSS("user_id")];
    if (Number(counts?.rows ?? 0) > groups) {
      checks.push(
        DISAGREE_WITHIN("okxUid", "coalesce(okx_uid, 'null')", "okx_given"),
        DISAGREE_WITHIN("userId", "user_id::text", "user_id IS NOT NULL"),
        DISAGREE_WITHIN("isActive", "is_active::text", "is_active IS NOT NULL"),
      );
    }
    for (const check of checks) await this.db.query(check, [importId], "import input check");
    return groups;
  }

  async plan(importId: string, from: number, to: number): Promise<number> {
    const [, [row] = []] = await this.db.transaction((sql) => [sql.query(NO_JIT), sql.query(planSql(), [importId, from, to])], "import planning");
    return Number(row?.n ?? 0);
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

  async writeWindows(importId: string, size: number, from: number, to: number): Promise<ImportWindow[]> {
    const rows = await this.db.query(
      `SELECT first_idx / $4 AS w, count(*)::int AS writes, count(*) FILTER (WHERE target IS NULL)::int AS fresh
       FROM ${GROUPS} WHERE ${toWrite()} GROUP BY 1 ORDER BY 1`,
      [importId, from, to, size],
      "import writes",
    );
    return rows.map((row) => ({ from: Number(row.w) * size, to: (Number(row.w) + 1) * size, writes: Number(row.writes), fresh: Number(row.fresh) }));
  }

  async writes(importId: string, from: number, to: number): Promise<ImportWrite[]> {
    const rows = await this.db.query(
      `SELECT g.first_idx, g.row_count, r.origin, g.target IS NULL AS fresh
       FROM ${GROUPS} g JOIN ${ROWS} r ON r.import_id = g.import_id AND r.idx = g.first_idx
       WHERE ${toWrite("g.")} ORDER BY g.first_idx`,
      [importId, from, to],
      "import writes",
    );
    return rows.map((row) => ({ firstIdx: Number(row.first_idx), rowCount: Number(row.row_count), origin: String(row.origin), fresh: row.fresh === true }));
  }

  async writeWindow(importId: string, from: number, to: number, freshIds: readonly string[]): Promise<{ written: ImportWritten[]; invalidations: OutboxMessage[] }> {
    const messageId = this.options.messageId();
    const key = `import:${from}:${messageId}`;
    let results: Row[][];
    try {
      results = await this.db.transaction(
        (sql) => [
          sql.query(NO_JIT),
          sql.query(lockSql(), [importId, from, to]),
          sql.query(writeWindowSql(), [importId, from, to, freshIds, messageId, key, this.options.writerGraceMs]),
        ],
        "import batch",
      );
    } catch (error) {
      const failure = error as { code?: string; constraint?: string };
      if (failure.code === "23505") throw new ConflictError(CONFLICTS[failure.constraint ?? ""] ?? "mapping conflicts with an existing one", { cause: error });
      throw error;
    }
    const rows = results[2] ?? [];
    return {
      written: rows
        .filter((row) => row.user_id !== null)
        .map((row) => ({ userId: String(row.user_id), origin: String(row.origin), inserted: row.inserted === true, changed: row.changed === true })),
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
