import { randomIds } from "../../core/clock";
import { Database } from "../../core/db/database";
import { PostgresMappingImport } from "../../core/lookups/adapters/postgres-mapping-import";
import { PostgresMappingRepository } from "../../core/lookups/adapters/postgres-mapping-repository";
import { DEFAULT_IMPORT_BATCH, importMappings } from "../../core/lookups/import";
import type { ImportCandidate, ImportPhase } from "../../core/lookups/import";
import { silentLog } from "../../core/observability/log-port";
import { PostgresOutbox } from "../../core/outbox/adapters/postgres-outbox";
import type { Summary } from "../stats";
import type { BenchContext, Workload, WorkloadResult } from "../workload";

/** The import may take at most twice a bare batched upsert's time per row: at least half its rate. */
const TARGET_RATIO = 2;
const ROWS = (scale: number) => Math.max(1_000, Math.round(100_000 * scale));
const BUDGET = { statementTimeoutMs: 30_000, requestTimeoutMs: 60_000 };

/** Each run takes its own block of a million telegram ids (positive, at most 11 digits: never read as okx uids). */
function nextBlock(): number {
  return 20_000_000_000 + Math.floor(Math.random() * 70_000) * 1_000_000;
}

function* newUsers(first: number, count: number): Generator<ImportCandidate> {
  for (let i = 0; i < count; i++) yield { origin: `bench:${i + 1}`, telegramId: String(first + i), okxUid: `9${String(first + i).padStart(17, "0")}` };
}

/** Rows per second as the row's figures: the "median" is milliseconds per 1,000 rows, so the ratio compares rates. */
function rate(rows: number, elapsedMs: number): Summary {
  const perThousand = Math.round((elapsedMs / rows) * 1_000 * 1_000) / 1_000;
  return { samples: rows, medianMs: perThousand, p95Ms: perThousand, p99Ms: perThousand, opsPerSec: Math.round((rows / elapsedMs) * 1_000) };
}

async function removeRows({ sql }: BenchContext, first: number, count: number): Promise<void> {
  await sql.query("DELETE FROM app_users WHERE telegram_id BETWEEN $1 AND $2", [first, first + count]);
}

/** The floor: app users and mappings written with one multi-row upsert each, one transaction per batch, nothing else. */
async function bareUpsert(context: BenchContext): Promise<WorkloadResult> {
  const db = new Database(context.sql, BUDGET);
  const count = ROWS(context.scale);
  const first = nextBlock();
  const started = performance.now();
  for (let at = 0; at < count; at += DEFAULT_IMPORT_BATCH) {
    const batch = [...newUsers(first + at, Math.min(DEFAULT_IMPORT_BATCH, count - at))];
    const params = [batch.map(() => randomIds.uuid()), batch.map((row) => row.telegramId), batch.map((row) => row.okxUid ?? null)];
    await db.transaction((sql) => [
      sql.query(
        `INSERT INTO app_users (id, telegram_id, okx_uid, is_active) SELECT u, t, o, true FROM unnest($1::uuid[], $2::bigint[], $3::text[]) AS x(u, t, o)
         ON CONFLICT (id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid`,
        params,
      ),
      sql.query(
        `INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source) SELECT u, t, o, true, 'import' FROM unnest($1::uuid[], $2::bigint[], $3::text[]) AS x(u, t, o)
         ON CONFLICT (user_id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid`,
        params,
      ),
    ]);
  }
  const elapsed = performance.now() - started;
  await removeRows(context, first, count);
  return { ...rate(count, elapsed), extra: { rows: count, batch: DEFAULT_IMPORT_BATCH } };
}

/** `importMappings` as `npm run ops -- import-mappings` runs it (real run), through the same driver. */
async function importRun(context: BenchContext): Promise<WorkloadResult> {
  const db = new Database(context.sql, BUDGET);
  const count = ROWS(context.scale);
  const first = nextBlock();
  // Imported on first use: runtime config is read from process.env, which run.ts fills first.
  const { importInvalidations } = await import("../../runtime/lookups");
  const deps = {
    repository: new PostgresMappingRepository(db),
    // As the ops command delivers them: the lookups' tombstone lifetime, the import's timeout.
    cache: importInvalidations(),
    ids: randomIds,
    store: new PostgresMappingImport(db, { messageId: () => randomIds.uuid(), writerGraceMs: 10_000 }),
    outbox: { store: new PostgresOutbox(db), log: silentLog },
  };
  // When each phase reported first and last: reading ends with its last report (every row staged),
  // and what runs before planning reports (grouping and checking the whole input) is `checkMs`.
  const firstAt: Partial<Record<ImportPhase, number>> = {};
  const last: Partial<Record<ImportPhase, number>> = {};
  const started = performance.now();
  const report = await importMappings(deps, {
    records: newUsers(first, count),
    dryRun: false,
    onProgress: ({ phase }) => {
      firstAt[phase] ??= performance.now();
      last[phase] = performance.now();
    },
  });
  const ended = performance.now();
  const elapsed = ended - started;
  const ms = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? 0 : Math.round(to - from));
  const phases = {
    readMs: ms(started, last.read),
    checkMs: ms(last.read, firstAt.plan),
    planMs: ms(firstAt.plan, firstAt.write ?? ended),
    writeMs: ms(firstAt.write, ended),
  };
  await removeRows(context, first, count);
  const errors = report.counts.inserted === count ? 0 : count - report.counts.inserted;
  return { ...rate(count, elapsed), errors, extra: { rows: count, ...phases, cacheFailures: report.cacheFailures.length } };
}

export const importScaleWorkloads: readonly Workload[] = [
  { name: "upsert-batched-100k", description: "bare batched upsert of 100,000 new mappings (app users + mappings, 1,000 rows per transaction), ms per 1,000 rows", run: bareUpsert },
  {
    name: "import-100k",
    description: "importMappings of 100,000 new rows (stream, stage, check, plan, write with outbox invalidations), ms per 1,000 rows",
    floor: ["upsert-batched-100k"],
    targetRatio: TARGET_RATIO,
    run: importRun,
  },
];
