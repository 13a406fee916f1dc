import { randomInt, randomUUID } from "node:crypto";
import { encodeMeta, legacyContentHash } from "../../core/settings/fast-copy";
import type { SettingsDocument } from "../../core/settings/model";
import { defaultSettingsFor, toLegacyRepresentation } from "../../core/settings/schemas";
import { runSync } from "../../core/sync/run-sync";
import { settingsSyncSource, syncDeps } from "../../runtime/sync";
import { summarize } from "../stats";
import type { BenchContext, Workload, WorkloadResult } from "../workload";

/**
 * `sync-10k`: 10,000 users whose params a bot changed directly in Redis, persisted by the settings
 * sync (SCAN, validation, plan, one statement per page, meta moved), against a bare batched upsert
 * of the same rows (new version + history row, 500 per statement) through the same driver. Both
 * figures are ms per 1,000 rows, so "≥ 50 % of the bare rows/s" is a ratio ≤ 2.
 */

const BATCH = 500;

interface Seeded {
  readonly users: readonly { readonly id: string; readonly okx: string }[];
  readonly original: SettingsDocument;
  readonly changed: (index: number) => SettingsDocument;
}

let seeded: Seeded | undefined;

const usersFor = (scale: number) => Math.max(BATCH, Math.round(10_000 * scale));

/** Users with params at version 1 in Postgres, their fast copy (meta version 1) edited by a bot. */
async function seed(context: BenchContext): Promise<Seeded> {
  if (seeded) return seeded;
  const { sql, scale } = context;
  const original = defaultSettingsFor("params");
  const changed = (index: number): SettingsDocument => ({ ...original, leverage: 1 + (index % 100), bot_note: `edited-${index}` });
  const users = Array.from({ length: usersFor(scale) }, () => ({ id: randomUUID(), okx: `7${String(randomInt(10 ** 13, 10 ** 14 - 1))}${String(randomInt(100, 999))}` }));
  for (let start = 0; start < users.length; start += BATCH) {
    const chunk = users.slice(start, start + BATCH);
    const telegram = chunk.map(() => String(randomInt(1_000_000, 9_999_999_999)));
    await sql.transaction([
      sql.query(`INSERT INTO app_users (id, telegram_id, okx_uid) SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[])`, [chunk.map((u) => u.id), telegram, chunk.map((u) => u.okx)]),
      sql.query(`INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, source) SELECT u, t, o, 'import' FROM unnest($1::uuid[], $2::bigint[], $3::text[]) AS x(u, t, o)`, [chunk.map((u) => u.id), telegram, chunk.map((u) => u.okx)]),
      sql.query(`INSERT INTO user_settings (id, user_id, okx_uid, setting_type, settings, version) SELECT gen_random_uuid(), u, o, 'params', $3::jsonb, 1 FROM unnest($1::uuid[], $2::text[]) AS x(u, o)`, [chunk.map((u) => u.id), chunk.map((u) => u.okx), JSON.stringify(original)]),
    ]);
  }
  seeded = { users, original, changed };
  return seeded;
}

/** The bots' edits over fast copies written at version 1: what every round of the sync finds. */
async function seedRedis({ redis, keys }: BenchContext, data: Seeded): Promise<void> {
  const legacy = toLegacyRepresentation("params", data.original);
  const meta = encodeMeta({ version: 1, hash: legacyContentHash(legacy), updatedAt: new Date().toISOString(), settings: data.original });
  for (let start = 0; start < data.users.length; start += BATCH) {
    const pipeline = redis.pipeline();
    data.users.slice(start, start + BATCH).forEach((user, i) => {
      pipeline.set(keys.settingsFastCopy(user.okx, "params"), JSON.stringify(toLegacyRepresentation("params", data.changed(start + i))));
      pipeline.hset(keys.settingsMeta(user.okx), { params: meta });
    });
    await pipeline.exec();
  }
}

/** Back to version 1 with the original document (untimed), so each round finds "only Redis changed" everywhere. */
async function resetVersions(context: BenchContext, data: Seeded): Promise<void> {
  await context.sql.query(`UPDATE user_settings SET version = 1, settings = $2::jsonb WHERE user_id = ANY($1::uuid[]) AND setting_type = 'params'`, [
    data.users.map((u) => u.id),
    JSON.stringify(data.original),
  ]);
}

const ROUNDS = 3;

/** Rounds of (untimed prepare, timed pass); the row is the median round, in ms per 1,000 rows. */
async function rounds(prepare: () => Promise<void>, pass: () => Promise<{ elapsedMs: number; rows: number }>): Promise<WorkloadResult> {
  const perThousand: number[] = [];
  let rows = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    await prepare();
    const result = await pass();
    rows = result.rows;
    perThousand.push((result.elapsedMs * 1000) / Math.max(1, result.rows));
  }
  const summary = summarize(perThousand, 1);
  const rowsPerSec = Math.round((1000 * 1000) / summary.medianMs);
  return { ...summary, opsPerSec: rowsPerSec, extra: { rows, rowsPerSec, rounds: ROUNDS } };
}

export const syncWorkloads: readonly Workload[] = [
  {
    name: "sync-10k-bare",
    description: "bare batched upsert of the sync's rows (new version + history row, 500 per statement) through the Neon HTTP driver; ms per 1,000 rows",
    setup: async (context) => {
      await seed(context);
    },
    run: async (context) => {
      const data = await seed(context);
      return rounds(
        () => resetVersions(context, data),
        async () => {
          const started = performance.now();
          for (let start = 0; start < data.users.length; start += BATCH) await bareBatch(context, data, start);
          return { elapsedMs: performance.now() - started, rows: data.users.length };
        },
      );
    },
  },
  {
    name: "sync-10k",
    description: "the settings sync over 10,000 users with changed Redis params (SCAN, pipelines, validation, plan query, one statement per page, meta moved); ms per 1,000 rows",
    floor: ["sync-10k-bare"],
    targetRatio: 2,
    setup: async (context) => {
      await seed(context);
    },
    run: async (context) => {
      const data = await seed(context);
      let trouble = 0;
      const phases = { scan: 0, read: 0, plan: 0, apply: 0, pages: 0 };
      const result = await rounds(
        async () => {
          await resetVersions(context, data);
          await seedRedis(context, data);
        },
        async () => {
          const summary = await runSync(syncDeps(), settingsSyncSource(), {
            owner: `bench-${randomUUID()}`,
            full: true,
            pageSize: BATCH,
            onPageTimings: (timings) => {
              for (const phase of ["scan", "read", "plan", "apply"] as const) phases[phase] += timings[phase];
              phases.pages += 1;
            },
          });
          trouble += summary.counts.failed + summary.counts.invalid + summary.counts.conflicts + (summary.counts.written === data.users.length ? 0 : 1);
          return { elapsedMs: summary.elapsedMs, rows: summary.counts.written };
        },
      );
      const share = (ms: number) => Math.round(ms / ROUNDS);
      const extra = { ...result.extra, pages: phases.pages / ROUNDS, scanMs: share(phases.scan), readMs: share(phases.read), planMs: share(phases.plan), applyMs: share(phases.apply) };
      return { ...result, errors: trouble, extra };
    },
  },
];

async function bareBatch({ sql }: BenchContext, data: Seeded, start: number): Promise<void> {
  const chunk = data.users.slice(start, start + BATCH);
  const documents = chunk.map((_, i) => JSON.stringify(data.changed(start + i)));
  await sql.transaction([
    sql.query(
      `WITH input AS (SELECT * FROM unnest($1::uuid[], $2::jsonb[]) AS t(user_id, settings)),
       up AS (UPDATE user_settings s SET settings = i.settings, version = s.version + 1, updated_at = now() FROM input i
              WHERE s.user_id = i.user_id AND s.setting_type = 'params' RETURNING s.id, s.user_id, s.version, s.settings, s.updated_at)
       INSERT INTO user_settings_history (settings_id, user_id, setting_type, version, settings, changed_at, actor, source)
       SELECT id, user_id, 'params', version, settings, updated_at, 'bench', 'sync' FROM up`,
      [chunk.map((u) => u.id), documents],
    ),
  ]);
}
