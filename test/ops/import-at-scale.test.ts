import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomIds } from "../../core/clock";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import type { Sql } from "../../core/db/neon";
import { PostgresMappingImport } from "../../core/lookups/adapters/postgres-mapping-import";
import { PostgresMappingRepository } from "../../core/lookups/adapters/postgres-mapping-repository";
import { LookupRedisCache } from "../lookups/support/redis-cache";
import { importMappings } from "../../core/lookups/import";
import type { ImportDeps, ImportRecord } from "../../core/lookups/import";
import { fileRecords } from "../../core/lookups/import-sources";
import { LOOKUP_INVALIDATION_TOPIC, lookupInvalidationHandlers } from "../../core/lookups/invalidation";
import type { OwedInvalidationCache } from "../../core/lookups/invalidation";
import { silentLog } from "../../core/observability/log-port";
import { PostgresOutbox } from "../../core/outbox/adapters/postgres-outbox";
import { drainOutbox } from "../../core/outbox/drain";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { runOps } from "../../scripts/ops/cli";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { capturedStreams } from "../support/ops";

let app: AppEnv;
let sql: Sql;
let db: Database;
let redis: Redis;
let cache: LookupRedisCache;
let dir: string;

// Identifiers unique within this file's database.
let seq = 0;
const tg = () => String(7_200_000_000 + ++seq);
const okx = () => `51879656${String(++seq).padStart(10, "0")}`;

beforeAll(async () => {
  app = await useAppEnv();
  sql = createSql({ databaseUrl: app.env.DATABASE_URL as string, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY });
  db = new Database(sql, { statementTimeoutMs: 30_000, requestTimeoutMs: 60_000 });
  redis = createUpstashRedis({ url: app.env.UPSTASH_REDIS_REST_URL as string, token: app.env.UPSTASH_REDIS_REST_TOKEN as string, retries: 0 });
  cache = new LookupRedisCache(redis, new RedisKeys(app.keyPrefix));
  dir = await mkdtemp(join(tmpdir(), "botstate-import-scale-"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await app?.database.drop();
});

function deps(withCache: OwedInvalidationCache = cache): ImportDeps {
  return {
    repository: new PostgresMappingRepository(db),
    cache: withCache,
    ids: randomIds,
    store: new PostgresMappingImport(db, { messageId: () => randomIds.uuid(), writerGraceMs: 10_000 }),
    outbox: { store: new PostgresOutbox(db), log: silentLog },
  };
}

/** `count` rows of new users, generated as they are read (nothing held by the test). */
function* generated(count: number, prefix: string): Generator<ImportRecord> {
  const base = 7_300_000_000 + seq * 1_000_000;
  seq += 1;
  for (let i = 0; i < count; i++) yield { origin: `${prefix}:${i + 1}`, telegramId: String(base + i), okxUid: `6${String(base + i).padStart(17, "0")}` };
}

async function importedCount(from: number, to: number): Promise<number> {
  const rows = await sql.query("SELECT count(*)::int AS n FROM user_identifier_mappings WHERE telegram_id BETWEEN $1 AND $2", [from, to]);
  return Number(rows[0]?.n);
}

function memoryIo(signal?: AbortSignal) {
  const { stdout, stderr, out, err } = capturedStreams();
  return { io: { stdout, stderr, env: app.env, cwd: resolve("."), ...(signal ? { signal } : {}) }, out, err, stderr };
}

describe("import at scale", () => {
  it("keeps memory flat in the input's size (a dry run of 10,000 and of 50,000 rows)", async () => {
    // Live memory, not garbage waiting for a collection: a full GC before each sample.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const live = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const peakOf = async (count: number) => {
      const base = live();
      let peak = base;
      let calls = 0;
      const report = await importMappings(deps(), {
        records: generated(count, `gen-${count}`),
        dryRun: true,
        batchSize: 1_000,
        onProgress: () => {
          if (++calls % 10 === 0) peak = Math.max(peak, live());
        },
      });
      expect(report.counts.inserted).toBe(count);
      return peak - base;
    };
    const small = await peakOf(10_000);
    const large = await peakOf(50_000);
    // Five times the rows: the old import held every row (about 4.9 KB each, 490 MB for 100,000).
    expect(large).toBeLessThan(small + 16 * 1024 * 1024);
    expect(large).toBeLessThan(32 * 1024 * 1024);
  }, 180_000);

  it("on Ctrl-C stops after the current batch with the report so far; batches are whole and a re-run finishes the rest", async () => {
    const count = 6_000;
    const first = 7_400_000_000;
    const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ telegram_id: String(first + i), okx_uid: `7${String(first + i).padStart(17, "0")}` }));
    const path = join(dir, "big.jsonl");
    await writeFile(path, lines.join("\n") + "\n");
    const controller = new AbortController();
    const cli = memoryIo(controller.signal);
    // Ctrl-C as soon as the writes have started.
    cli.stderr.on("data", (chunk: Buffer) => {
      if (chunk.toString().startsWith("writing")) controller.abort();
    });
    const code = await runOps(["import-mappings", "--file", path, "--batch-size", "500", "--progress-every", "1", "--dotenv", join(dir, "absent.env")], cli.io);
    expect(code).toBe(130);
    expect(cli.out()).toMatch(/INTERRUPTED: stopped after a whole batch; [0-9]+ planned write\(s\) not made/);
    // Progress lines, stderr not being a terminal: one per phase at least, with a rate.
    expect(cli.err()).toMatch(/^reading: [0-9]+, [0-9]+\/s/m);
    expect(cli.err()).toMatch(/^checking: [0-9]+ of 6000/m);
    const written = await importedCount(first, first + count);
    expect(written % 500).toBe(0);
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(count);
    expect(cli.out()).toMatch(new RegExp(`\\|\\s*inserted\\s*\\|\\s*${written} \\|`));

    const again = memoryIo();
    expect(await runOps(["import-mappings", "--file", path, "--batch-size", "2000", "--dotenv", join(dir, "absent.env")], again.io)).toBe(0);
    expect(again.out()).toMatch(new RegExp(`\\|\\s*inserted\\s*\\|\\s*${count - written} \\|`));
    expect(again.out()).toMatch(new RegExp(`\\|\\s*unchanged\\s*\\|\\s*${written} \\|`));
    expect(await importedCount(first, first + count)).toBe(count);
    // Nothing left in the scratch tables.
    expect((await sql.query("SELECT count(*)::int AS n FROM mapping_import_rows"))[0]?.n).toBe(0);
  }, 180_000);

  it("an update whose invalidation could not be delivered leaves it in the outbox (same transaction); the drain then removes the stale answer", async () => {
    const repository = new PostgresMappingRepository(db);
    const t = tg();
    const [before, after] = [okx(), okx()];
    const { current } = await repository.upsert({ userId: randomIds.uuid(), telegramId: t, okxUid: before, isActive: true }, "admin");
    // The seed's own invalidation row (its writer would deliver it) is not what this test is about.
    await sql.query("DELETE FROM outbox WHERE key = $1", [current.userId]);
    const stale = { telegramId: t, userId: current.userId, okxUid: before, source: "database" as const };
    await cache.setMany([{ identifier: { kind: "telegram_id", value: t }, value: stale, ttlSeconds: 3600 }]);
    // The process dies (or Redis is gone) between the commit and the invalidation.
    const dead: OwedInvalidationCache = { invalidateOrThrow: () => Promise.reject(new Error("killed")) };
    const path = join(dir, "update.jsonl");
    await writeFile(path, JSON.stringify({ telegram_id: t, okx_uid: after, user_id: current.userId }) + "\n");
    const report = await importMappings(deps(dead), { records: fileRecords(path), dryRun: false });
    expect(report.counts.updated).toBe(1);
    expect(report.cacheFailures).toHaveLength(1);
    // One row per batch, naming every identifier of the old and new state of the mappings it changed.
    const owedBy = "SELECT id, payload FROM outbox WHERE topic = $1 AND payload::text LIKE '%' || $2 || '%'";
    const owed = await sql.query(owedBy, [LOOKUP_INVALIDATION_TOPIC, current.userId]);
    expect(owed).toHaveLength(1);
    expect(JSON.stringify(owed[0]?.payload)).toContain(before);
    expect(JSON.stringify(owed[0]?.payload)).toContain(after);

    // What a drain does (runtime/outbox.ts registers the same handler for the topic).
    await sql.query("UPDATE outbox SET next_attempt_at = now() WHERE id = $1", [owed[0]?.id]);
    await drainOutbox(
      { store: new PostgresOutbox(db), log: silentLog },
      { handlers: lookupInvalidationHandlers(cache), limit: 10 },
    );
    expect(await cache.getMany([{ kind: "telegram_id", value: t }])).toEqual([undefined]);
    expect(await sql.query(owedBy, [LOOKUP_INVALIDATION_TOPIC, current.userId])).toHaveLength(0);
  });

  it("names an 18-digit okx uid with a leading zero for what it is, in CSV and JSONL", async () => {
    const csv = join(dir, "zero.csv");
    await writeFile(csv, `telegram_id,okx_uid\n${tg()},018796558012178692\n`);
    const jsonl = join(dir, "zero.jsonl");
    await writeFile(jsonl, `{"telegram_id": "${tg()}", "okx_uid": "018796558012178692"}\n{"telegram_id": "${tg()}", "okx_uid": 018796558012178692}\n`);
    const fromCsv = await importMappings(deps(), { records: fileRecords(csv), dryRun: true });
    const fromJsonl = await importMappings(deps(), { records: fileRecords(jsonl), dryRun: true });
    expect(fromCsv.problems.map((p) => p.reason)).toEqual(["okxUid: must not start with 0"]);
    expect(fromJsonl.problems.map((p) => p.reason)).toEqual(["okxUid: must not start with 0", "not valid JSON: a number starts with 0; write identifiers as strings"]);
  });
});
