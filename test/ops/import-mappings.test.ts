import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { VerifiedTokens } from "../../core/auth/verified-tokens";
import type { IdGenerator } from "../../core/clock";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import type { Sql } from "../../core/db/neon";
import { importMappings } from "../../core/lookups/import";
import type { ImportDeps, ImportInput, ImportRecord, ImportReport } from "../../core/lookups/import";
import { PostgresMappingImport } from "../../core/lookups/adapters/postgres-mapping-import";
import { randomIds } from "../../core/clock";
import { fileRecords, legacyRedisRecords } from "../../core/lookups/import-sources";
import type { Mapping } from "../../core/lookups/model";
import { PostgresMappingRepository } from "../../core/lookups/adapters/postgres-mapping-repository";
import type { OwedInvalidationCache } from "../../core/lookups/invalidation";
import { LookupRedisCache } from "../lookups/support/redis-cache";
import { PostgresOutbox } from "../../core/outbox/adapters/postgres-outbox";
import { silentLog } from "../../core/observability/log-port";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { runOps } from "../../scripts/ops/cli";
import { TEST_JWT_SECRET, createTestDatabase, useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { capturedStreams, deleteKeys } from "../support/ops";

let app: AppEnv;
let sql: Sql;
let redis: Redis;
let keys: RedisKeys;
let repository: PostgresMappingRepository;
let cache: LookupRedisCache;
let dir: string;

/** Injected ids: recognisable, and a record of which were handed out. */
const issued: string[] = [];
const ids: IdGenerator = {
  uuid: () => {
    const id = `00000000-0000-4000-8000-${String(issued.length + 1).padStart(12, "0")}`;
    issued.push(id);
    return id;
  },
};

// Identifiers unique within this file's database.
let seq = 0;
const tg = () => String(7_100_000_000 + ++seq);
const okx = () => `51879655${String(++seq).padStart(10, "0")}`;
const uid = () => `11111111-2222-4333-8444-${String(++seq).padStart(12, "0")}`;

beforeAll(async () => {
  app = await useAppEnv();
  sql = createSql({ databaseUrl: app.env.DATABASE_URL as string, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY });
  redis = createUpstashRedis({ url: app.env.UPSTASH_REDIS_REST_URL as string, token: app.env.UPSTASH_REDIS_REST_TOKEN as string, retries: 0 });
  keys = new RedisKeys(app.keyPrefix);
  repository = new PostgresMappingRepository(new Database(sql));
  cache = new LookupRedisCache(redis, keys);
  dir = await mkdtemp(join(tmpdir(), "botstate-import-"));
});

afterAll(async () => {
  if (redis && app) {
    await deleteKeys(redis, `${app.keyPrefix}*`, 500);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
  await app?.database.drop();
});

async function file(name: string, lines: readonly unknown[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n") + "\n");
  return path;
}

/** The import's deps as runtime/lookups.ts wires them, with the injected ids and the given cache. */
function importDeps(withCache: OwedInvalidationCache = cache): ImportDeps {
  const db = new Database(sql, { statementTimeoutMs: 30_000, requestTimeoutMs: 60_000 });
  return {
    repository,
    cache: withCache,
    ids,
    store: new PostgresMappingImport(db, { messageId: () => randomIds.uuid(), writerGraceMs: 10_000 }),
    outbox: { store: new PostgresOutbox(db), log: silentLog },
  };
}

const run = (records: AsyncIterable<ImportRecord> | Iterable<ImportRecord>, dryRun = false, more: Partial<ImportInput> = {}): Promise<ImportReport> =>
  importMappings(importDeps(), { records, dryRun, ...more });

const counts = (inserted: number, updated: number, unchanged: number, conflicting: number, invalid: number) => ({
  inserted,
  updated,
  unchanged,
  conflicting,
  invalid,
});

async function rowCount(): Promise<number> {
  const rows = await sql.query("SELECT count(*)::int AS n FROM user_identifier_mappings");
  return Number(rows[0]?.n);
}

async function byTelegram(telegramId: string): Promise<Mapping | undefined> {
  return (await repository.search({ telegramId }))[0];
}

async function seed(telegramId: string, okxUid: string | null, userId = uid()): Promise<Mapping> {
  return (await repository.upsert({ userId, telegramId, okxUid, isActive: true }, "admin")).current;
}

describe("import from a JSONL file", () => {
  it("inserts new mappings, resolving user ids through the injected generator, and a re-run converges", async () => {
    const [t1, t2, t3] = [tg(), tg(), tg()];
    const [x1, x2] = [okx(), okx()];
    const explicit = uid();
    const path = await file("first.jsonl", [
      { telegram_id: t1, okx_uid: x1, user_id: explicit },
      { telegramId: Number(t2), okxUid: x2, is_active: true },
      "",
      { telegram_id: t3, is_active: false },
    ]);

    const first = await run(fileRecords(path));
    expect(first.counts).toEqual(counts(3, 0, 0, 0, 0));
    expect(first.records).toBe(3);
    expect(first.problems).toEqual([]);

    const m1 = await byTelegram(t1);
    expect(m1).toMatchObject({ userId: explicit, okxUid: x1, isActive: true, source: "import" });
    const m2 = await byTelegram(t2);
    expect(m2).toMatchObject({ okxUid: x2, isActive: true, source: "import" });
    expect(issued).toContain(m2?.userId);
    expect(await byTelegram(t3)).toMatchObject({ okxUid: null, isActive: false });

    const issuedBefore = issued.length;
    const second = await run(fileRecords(path));
    expect(second.counts).toEqual(counts(0, 0, 3, 0, 0));
    expect(issued.length).toBe(issuedBefore);
    expect((await byTelegram(t2))?.userId).toBe(m2?.userId);
  });

  it("updates the user found by okx uid, keeps fields a row leaves out, and clears an explicit null", async () => {
    const [t1, t1b, t2] = [tg(), tg(), tg()];
    const [x1, x2] = [okx(), okx()];
    const u1 = await seed(t1, x1);
    const u2 = await seed(t2, x2);
    const path = await file("update.jsonl", [
      { telegram_id: t1b, okx_uid: x1 }, // okx uid resolves u1: its telegram id moves
      { telegram_id: t2, okx_uid: null, user_id: u2.userId }, // explicit null clears the okx uid
    ]);
    expect((await run(fileRecords(path))).counts).toEqual(counts(0, 2, 0, 0, 0));
    expect(await repository.getByUserId(u1.userId)).toMatchObject({ telegramId: t1b, okxUid: x1, isActive: true });
    expect(await repository.getByUserId(u2.userId)).toMatchObject({ telegramId: t2, okxUid: null });
    expect((await run(fileRecords(path))).counts).toEqual(counts(0, 0, 2, 0, 0));
  });
});

describe("dry run", () => {
  it("writes nothing to the database or the cache but predicts what a real run does", async () => {
    const [tNew, tUpd, tSame, tOwned] = [tg(), tg(), tg(), tg()];
    const [xNew, xUpd, xUpd2, xSame] = [okx(), okx(), okx(), okx()];
    const updating = await seed(tUpd, xUpd);
    const same = await seed(tSame, xSame);
    await seed(tOwned, null);
    const path = await file("dry.jsonl", [
      { telegram_id: tNew, okx_uid: xNew },
      { telegram_id: tUpd, okx_uid: xUpd2, user_id: updating.userId },
      { telegram_id: tSame, okx_uid: xSame },
      { telegram_id: tOwned, user_id: uid() },
      { telegram_id: "not-a-number" },
    ]);
    const cached = [
      { identifier: { kind: "telegram_id" as const, value: tNew }, value: null, ttlSeconds: 600 },
      {
        identifier: { kind: "okx_uid" as const, value: xUpd },
        value: { telegramId: tUpd, userId: updating.userId, okxUid: xUpd, source: "database" as const },
        ttlSeconds: 600,
      },
    ];
    await cache.setMany(cached);
    const rowsBefore = await rowCount();
    const issuedBefore = issued.length;

    const dry = await run(fileRecords(path), true);
    expect(dry.dryRun).toBe(true);
    expect(dry.counts).toEqual(counts(1, 1, 1, 1, 1));
    expect(dry.problems.map((p) => [p.kind, p.origin])).toEqual([
      ["conflicting", `${path}:4`],
      ["invalid", `${path}:5`],
    ]);
    expect(await rowCount()).toBe(rowsBefore);
    expect(await repository.getByUserId(updating.userId)).toMatchObject({ okxUid: xUpd, updatedAt: updating.updatedAt });
    expect(await cache.getMany(cached.map((entry) => entry.identifier))).toEqual(cached.map((entry) => entry.value));
    expect(issued.length).toBe(issuedBefore);

    // The prediction is what the real run then does.
    const real = await run(fileRecords(path));
    expect(real.counts).toEqual(dry.counts);
    expect(real.problems).toEqual(dry.problems);
    expect(await rowCount()).toBe(rowsBefore + 1);
    expect(await repository.getByUserId(same.userId)).toMatchObject({ updatedAt: same.updatedAt, source: "admin" });
  });
});

describe("import from a CSV file", () => {
  it("reads a header, quoted fields with commas, quotes and newlines, CRLF and a BOM", async () => {
    const [t1, t2, t3] = [tg(), tg(), tg()];
    const [x1, x2] = [okx(), okx()];
    const u3 = uid();
    const csv = [
      "\uFEFFtelegram_id,note,okx_uid,user_id,is_active",
      `${t1},"plain, with a comma",${x1},,true`,
      `"${t2}","says ""hi""\r\non two lines",${x2},,`,
      `${t3},,,"${u3}",false`,
      "",
      `${tg()},"too",many,fields,,,`,
      `,no telegram,,,`,
    ].join("\r\n");
    const path = join(dir, "mappings.csv");
    await writeFile(path, csv);

    const report = await run(fileRecords(path));
    expect(report.counts).toEqual(counts(3, 0, 0, 0, 2));
    expect(report.problems).toEqual([
      { kind: "invalid", origin: `${path}:7`, reason: "has 7 fields, the header has 5" },
      { kind: "invalid", origin: `${path}:8`, reason: "no telegram_id" },
    ]);
    expect(await byTelegram(t1)).toMatchObject({ okxUid: x1, isActive: true });
    expect(await byTelegram(t2)).toMatchObject({ okxUid: x2, isActive: true });
    expect(await byTelegram(t3)).toMatchObject({ userId: u3, okxUid: null, isActive: false });
    expect((await run(fileRecords(path))).counts).toEqual(counts(0, 0, 3, 0, 2));
  });

  it("refuses a CSV without a telegram_id column", async () => {
    const path = join(dir, "no-telegram.csv");
    await writeFile(path, "okx_uid,user_id\n123456789012,\n");
    await expect(run(fileRecords(path))).rejects.toThrow(/no telegram_id column/);
  });
});

describe("conflicts", () => {
  it("reports identifiers owned by another user and never overwrites them", async () => {
    const [t1, t2, t3, tFree] = [tg(), tg(), tg(), tg()];
    const [x1, x2, x3, xFree] = [okx(), okx(), okx(), okx()];
    const owner1 = await seed(t1, x1);
    const owner2 = await seed(t2, x2);
    const owner3 = await seed(t3, x3);
    const path = await file("conflicts.jsonl", [
      { telegram_id: t1, user_id: uid() }, // t1 belongs to owner1
      { telegram_id: tFree, okx_uid: x1, user_id: owner2.userId }, // x1 belongs to owner1
      { telegram_id: t2, okx_uid: xFree }, // t2 is mapped with another okx uid: no silent re-pointing
      { telegram_id: t3, okx_uid: x2 }, // x2 resolves owner2, whose new telegram id t3 is owner3's
    ]);

    for (const dryRun of [true, false]) {
      const report = await run(fileRecords(path), dryRun);
      expect(report.counts).toEqual(counts(0, 0, 0, 4, 0));
      expect(report.problems.map((p) => p.reason)).toEqual([
        `telegramId ${t1} already belongs to user ${owner1.userId}`,
        `okxUid ${x1} already belongs to user ${owner1.userId}`,
        `telegramId ${t2} is mapped to user ${owner2.userId} with another okxUid; give user_id to change it`,
        `telegramId ${t3} already belongs to user ${owner3.userId}`,
      ]);
    }
    expect(await repository.getByUserId(owner1.userId)).toMatchObject({ telegramId: t1, okxUid: x1, updatedAt: owner1.updatedAt });
    for (const owner of [owner2, owner3]) expect(await repository.getByUserId(owner.userId)).toEqual(owner);
    expect(await byTelegram(tFree)).toBeUndefined();
  });

  it("counts the repository's ConflictError as conflicting (an app user without a mapping)", async () => {
    const t = tg();
    const orphan = uid();
    await sql.query("INSERT INTO app_users (id, telegram_id) VALUES ($1, $2)", [orphan, t]);
    const path = await file("orphan.jsonl", [{ telegram_id: t }]);
    const real = await run(fileRecords(path));
    expect(real.counts).toEqual(counts(0, 0, 0, 1, 0));
    expect(real.problems).toEqual([{ kind: "conflicting", origin: `${path}:1`, reason: "telegramId already belongs to another active user" }]);
    expect(await byTelegram(t)).toBeUndefined();
  });

  it("refuses every row of a user the input itself contradicts, whatever the order", async () => {
    const [tA, tB, tC, tDup] = [tg(), tg(), tg(), tg()];
    const [xA1, xA2, xShared, xDup] = [okx(), okx(), okx(), okx()];
    const rows = [
      { telegram_id: tA, okx_uid: xA1 },
      { telegram_id: tB, okx_uid: xShared },
      { telegram_id: tA, okx_uid: xA2 }, // one telegram id, two okx uids
      { telegram_id: tC, okx_uid: xShared }, // one okx uid, two telegram ids
      { telegram_id: tDup, okx_uid: xDup },
      { telegram_id: tDup, okx_uid: xDup, is_active: true }, // agrees: a repeat, not a conflict
    ];
    const forward = await run(fileRecords(await file("in-file.jsonl", rows)), true);
    const backward = await run(fileRecords(await file("in-file-reversed.jsonl", [...rows].reverse())), true);
    for (const report of [forward, backward]) {
      expect(report.counts).toEqual(counts(1, 0, 1, 4, 0));
      expect(report.duplicates).toBe(1);
    }
    expect(forward.problems.map((p) => p.origin.split(":").pop())).toEqual(["1", "2", "3", "4"]);
    expect(forward.problems[0]?.reason).toMatch(new RegExp(`disagree on okxUid: ${xA1} \\(.*:1\\) vs ${xA2} \\(.*:3\\)`));
    expect(forward.problems[1]?.reason).toMatch(/disagree on telegramId/);

    const real = await run(fileRecords(await file("in-file.jsonl", rows)));
    expect(real.counts).toEqual(counts(1, 0, 1, 4, 0));
    for (const t of [tA, tB, tC]) expect(await byTelegram(t)).toBeUndefined();
    expect(await byTelegram(tDup)).toMatchObject({ okxUid: xDup });
  });
});

describe("invalid rows", () => {
  it("reports each with its reason and imports the rest", async () => {
    const good = tg();
    const path = await file("invalid.jsonl", [
      "{not json",
      "[1, 2]",
      { okx_uid: okx() },
      { telegram_id: "12ab" },
      { telegram_id: tg(), okx_uid: "123" },
      { telegram_id: tg(), user_id: "not-a-uuid" },
      { telegram_id: tg(), is_active: "maybe" },
      '{"telegram_id": 7000000001, "okx_uid": 518796558012178692}',
      { telegram_id: tg(), telegramId: "1" },
      { telegram_id: 2 ** 52 + 1 },
      { telegram_id: good },
    ]);
    const report = await run(fileRecords(path));
    expect(report.counts).toEqual(counts(1, 0, 0, 0, 10));
    expect(report.problems.every((p) => p.kind === "invalid")).toBe(true);
    expect(report.problems.map((p) => [p.origin.slice(path.length + 1), p.reason])).toEqual([
      ["1", "not valid JSON"],
      ["2", "not a JSON object"],
      ["3", "no telegram_id"],
      ["4", "telegramId: must be an integer (negative for groups and channels)"],
      ["5", "okxUid: must be 12-20 digits (this one has 3)"],
      ["6", "userId: must be a UUID"],
      ["7", "is_active must be true or false"],
      ["8", "okx_uid is a number too large to be exact; write it as a string"],
      ["9", "telegram_id and telegramId disagree"],
      ["10", "telegramId: must fit in 52 bits (at most 4503599627370496 either way)"],
    ]);
    expect(await byTelegram(good)).toBeDefined();
  });
});

describe("import from the old Redis registration hashes", () => {
  it("pages through SCAN over both layouts, reads only telegram_id, and a re-run converges", async () => {
    const withApiKeys = Array.from({ length: 60 }, () => ({ okx: okx(), telegram: tg() }));
    const withPreferences = Array.from({ length: 30 }, () => ({ okx: okx(), telegram: tg() }));
    const withBoth = Array.from({ length: 30 }, () => ({ okx: okx(), telegram: tg() }));
    const noTelegram = okx();
    const notAHash = okx();
    const unrelatedOkx = okx();
    const pipeline = redis.pipeline();
    for (const { okx: o, telegram } of [...withApiKeys, ...withBoth]) {
      pipeline.hset(keys.legacyApiKeys(o), { api_key: "k", api_secret: "s", passphrase: "p", telegram_id: telegram });
    }
    for (const { okx: o, telegram } of [...withPreferences, ...withBoth]) {
      pipeline.hset(keys.legacyPreferences(o), { timeframe: "1m", symbol: "BTC-USDT-SWAP", telegram_id: telegram });
    }
    pipeline.hset(keys.legacyPreferences(noTelegram), { timeframe: "5m" });
    pipeline.set(keys.legacyApiKeys(notAHash), "a string, not a hash");
    pipeline.hset(keys.legacyPreferences("not-an-okx-uid"), { telegram_id: tg() });
    // Not the registration layout: never read.
    pipeline.set(`${app.keyPrefix}user:${unrelatedOkx}:settings`, JSON.stringify({ leverage: 10 }));
    pipeline.hset(`${app.keyPrefix}user:${unrelatedOkx}:dual_side`, { telegram_id: tg() });
    pipeline.hset(`${app.keyPrefix}user:${unrelatedOkx}:api:keys:old`, { telegram_id: tg() });
    pipeline.set(`${app.keyPrefix}unrelated`, "x");
    await pipeline.exec();

    const scan = vi.spyOn(redis, "scan");
    const keysCommand = vi.spyOn(redis, "keys");
    try {
      const first = await run(legacyRedisRecords(redis, keys, { count: 50 }));
      const distinct = withApiKeys.length + withPreferences.length + withBoth.length;
      expect(first.counts).toEqual(counts(distinct, 0, withBoth.length, 0, 3));
      expect(first.records).toBe(distinct + withBoth.length + 3);
      expect(first.problems).toHaveLength(3);
      expect(first.problems).toEqual(
        expect.arrayContaining([
          { kind: "invalid", origin: keys.legacyApiKeys(notAHash), reason: expect.stringMatching(/^cannot read telegram_id: WRONGTYPE/) },
          { kind: "invalid", origin: keys.legacyPreferences(noTelegram), reason: "no telegram_id" },
          { kind: "invalid", origin: keys.legacyPreferences("not-an-okx-uid"), reason: "okxUid: must be digits only" },
        ]),
      );
      expect(scan.mock.calls.length).toBeGreaterThan(keys.legacyRegistrationPatterns().length);
      for (const [, options] of scan.mock.calls) expect(options).toMatchObject({ count: 50 });
      expect(new Set(scan.mock.calls.map(([, options]) => options?.match))).toEqual(new Set(keys.legacyRegistrationPatterns()));
      expect(keysCommand).not.toHaveBeenCalled();

      for (const { okx: o, telegram } of [...withApiKeys, ...withPreferences, ...withBoth]) {
        const mapping = await byTelegram(telegram);
        expect(mapping).toMatchObject({ okxUid: o, isActive: true, source: "import" });
      }
      expect((await repository.search({ okxUid: unrelatedOkx })).length).toBe(0);

      const second = await run(legacyRedisRecords(redis, keys, { count: 50 }));
      expect(second.counts).toEqual(counts(0, 0, distinct + withBoth.length, 0, 3));
    } finally {
      scan.mockRestore();
      keysCommand.mockRestore();
    }
    // SCAN walks the whole shared keyspace (other files' and the bench's keys) at 50 keys per call.
  }, 60_000);
});

describe("cache invalidation", () => {
  it("deletes the cached lookups of the old and the new state of a changed mapping, and only then", async () => {
    const [t1, t1New, t2] = [tg(), tg(), tg()];
    const [x1, x2] = [okx(), okx()];
    const changed = await seed(t1, x1);
    const untouched = await seed(t2, x2);
    const hit = (m: Mapping) => ({ telegramId: m.telegramId, userId: m.userId, okxUid: m.okxUid, source: "database" as const });
    const entries = [
      { identifier: { kind: "okx_uid" as const, value: x1 }, value: hit(changed), ttlSeconds: 600 },
      { identifier: { kind: "telegram_id" as const, value: t1 }, value: hit(changed), ttlSeconds: 600 },
      { identifier: { kind: "user_id" as const, value: changed.userId }, value: hit(changed), ttlSeconds: 600 },
      { identifier: { kind: "telegram_id" as const, value: t1New }, value: null, ttlSeconds: 600 },
      { identifier: { kind: "okx_uid" as const, value: x2 }, value: hit(untouched), ttlSeconds: 600 },
    ];
    await cache.setMany(entries);

    const path = await file("invalidate.jsonl", [
      { telegram_id: t1New, okx_uid: x1 },
      { telegram_id: t2, okx_uid: x2 },
    ]);
    expect((await run(fileRecords(path))).counts).toEqual(counts(0, 1, 1, 0, 0));
    const after = await cache.getMany(entries.map((entry) => entry.identifier));
    expect(after).toEqual([undefined, undefined, undefined, undefined, hit(untouched)]);
    // The old answer is gone; a short-lived tombstone keeps fills that read the old row from restoring it.
    expect((await cache.slots([{ kind: "okx_uid", value: x1 }]))[0]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("cache failures", () => {
  it("still writes the mapping and reports the entries it could not evict", async () => {
    const t = tg();
    const failing: OwedInvalidationCache = { invalidateOrThrow: () => Promise.reject(new Error("redis is down")) };
    const path = await file("cache-down.jsonl", [{ telegram_id: t }]);
    const report = await importMappings(importDeps(failing), { records: fileRecords(path), dryRun: false });
    expect(report.counts).toEqual(counts(1, 0, 0, 0, 0));
    const mapping = await byTelegram(t);
    expect(report.cacheFailures).toEqual([{ origin: `${path}:1`, userId: mapping?.userId, reason: "redis is down" }]);
    expect(report.cacheFailuresOmitted).toBe(0);
  });

  it("lists at most maxProblems of them and counts the rest", async () => {
    const failing: OwedInvalidationCache = { invalidateOrThrow: () => Promise.reject(new Error("redis is down")) };
    const path = await file("cache-down-many.jsonl", [{ telegram_id: tg() }, { telegram_id: tg() }, { telegram_id: tg() }]);
    const report = await importMappings(importDeps(failing), { records: fileRecords(path), dryRun: false, maxProblems: 1 });
    expect(report.counts).toEqual(counts(3, 0, 0, 0, 0));
    expect(report.cacheFailures).toHaveLength(1);
    expect(report.cacheFailuresOmitted).toBe(2);
  });
});

describe("the ops CLI", () => {
  const absentEnvFile = () => join(dir, "absent.env");

  function memoryIo(env: Record<string, string | undefined>) {
    const { stdout, stderr, out, err } = capturedStreams();
    return { io: { stdout, stderr, env, cwd: resolve(".") }, out, err };
  }

  it("runs `import-mappings --file … --dry-run` end to end as a child process", async () => {
    const [t1, t2] = [tg(), tg()];
    const owned = await seed(tg(), null);
    const path = await file("cli.jsonl", [{ telegram_id: t1, okx_uid: okx() }, { telegram_id: t2 }, { telegram_id: owned.telegramId, user_id: uid() }, "oops"]);
    const rowsBefore = await rowCount();
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        "npx",
        ["tsx", "scripts/ops.ts", "import-mappings", "--file", path, "--dry-run", "--dotenv", absentEnvFile()],
        { cwd: resolve("."), env: { ...process.env, ...app.env }, timeout: 60_000 },
        (error, out, err) => done({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }),
      );
    });
    expect(stderr).not.toMatch(/ops:/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/DRY RUN: nothing was written/);
    expect(stdout).toMatch(/\|\s*inserted\s*\|\s*2 \|/);
    expect(stdout).toMatch(/\|\s*conflicting\s*\|\s*1 \|/);
    expect(stdout).toMatch(/\|\s*invalid\s*\|\s*1 \|/);
    expect(stdout).toMatch(/\|\s*total\s*\|\s*4 \|/);
    expect(stdout).toContain(`${path}:3  telegramId ${owned.telegramId} already belongs to user ${owned.userId}`);
    expect(stdout).toContain(`${path}:4  not valid JSON`);
    expect(stdout + stderr).not.toContain(app.env.UPSTASH_REDIS_REST_TOKEN as string);
    expect(stdout + stderr).not.toContain(app.env.DATABASE_URL as string);
    expect(await rowCount()).toBe(rowsBefore);
  }, 60_000);

  it("imports for real through the CLI, filling missing settings from the env file", async () => {
    const t = tg();
    const path = await file("cli-real.jsonl", [{ telegram_id: t }]);
    const envFile = join(dir, "local.env");
    await writeFile(
      envFile,
      ["DATABASE_URL", "NEON_FETCH_ENDPOINT", "NEON_WS_PROXY"].map((name) => `${name}=${app.env[name] ?? ""}`).join("\n") + "\n",
    );
    const { DATABASE_URL: _db, NEON_FETCH_ENDPOINT: _fetch, NEON_WS_PROXY: _ws, ...rest } = app.env;
    const cli = memoryIo(rest);
    expect(await runOps(["import-mappings", "--file", path, "--dotenv", envFile], cli.io)).toBe(0);
    expect(cli.out()).toMatch(/Import done\./);
    expect(cli.out()).toMatch(/\|\s*inserted\s*\|\s*1 \|/);
    expect(cli.err()).toContain("DATABASE_URL, NEON_FETCH_ENDPOINT, NEON_WS_PROXY");
    expect(await byTelegram(t)).toMatchObject({ source: "import" });
  });

  it("previews an import from Redis (--from-redis --dry-run)", async () => {
    await redis.hset(keys.legacyPreferences(okx()), { telegram_id: tg() });
    const rowsBefore = await rowCount();
    const cli = memoryIo(app.env);
    expect(await runOps(["import-mappings", "--from-redis", "--dry-run", "--scan-count", "1000", "--dotenv", absentEnvFile()], cli.io)).toBe(0);
    expect(cli.out()).toMatch(/DRY RUN/);
    expect(cli.out()).toContain(`source: Redis hashes ${keys.legacyRegistrationPatterns().join(", ")}`);
    expect(cli.out()).toMatch(/\|\s*inserted\s*\|\s*1 \|/);
    expect(await rowCount()).toBe(rowsBefore);
  });

  it("names missing settings (exit 1) and rejects bad usage (exit 2)", async () => {
    const path = await file("cli-usage.jsonl", [{ telegram_id: tg() }]);
    const missing = memoryIo({});
    expect(await runOps(["import-mappings", "--file", path, "--dotenv", absentEnvFile()], missing.io)).toBe(1);
    expect(missing.err()).toMatch(/DATABASE_URL is missing/);
    expect(missing.err()).toMatch(/UPSTASH_REDIS_REST_URL is missing/);

    const usages: string[][] = [
      [],
      ["nope"],
      ["import-mappings"],
      ["import-mappings", "--file", path, "--from-redis"],
      ["import-mappings", "--file", join(dir, "x.txt")],
      ["import-mappings", "--file", path, "--bogus"],
      ["token", "--role", "root", "--subject", "x"],
      ["token", "--role", "user", "--subject", "not-a-uuid"],
      ["token", "--role", "admin", "--subject", "x", "--ttl", "-5"],
      ["token", "--role", "admin", "--subject", "x", "--ttl", String(13 * 3600)],
    ];
    for (const argv of usages) {
      const cli = memoryIo(app.env);
      expect(await runOps(argv, cli.io), argv.join(" ")).toBe(2);
      expect(cli.err()).toMatch(/Usage: npm run ops/);
    }
    const help = memoryIo({});
    expect(await runOps(["help"], help.io)).toBe(0);
    expect(help.out()).toMatch(/import-mappings --file/);
  });

  it("prints a token the API accepts", async () => {
    const cli = memoryIo({ JWT_SECRET: TEST_JWT_SECRET });
    expect(await runOps(["token", "--role", "service", "--subject", "ops-test", "--ttl", "120", "--dotenv", absentEnvFile()], cli.io)).toBe(0);
    // Verified as the routes verify bearer tokens (runtime/http/middlewares.ts).
    const principal = await new VerifiedTokens({ secret: TEST_JWT_SECRET, issuer: "botstate" }).verify(cli.out().trim(), new Date());
    expect(principal).toEqual({ role: "service", subject: "ops-test" });
  });

  it("migrates a fresh database, then has nothing to apply", async () => {
    const fresh = await createTestDatabase({ migrate: false });
    try {
      const env = { ...app.env, DATABASE_URL: fresh.url };
      const first = memoryIo(env);
      expect(await runOps(["migrate", "--dotenv", absentEnvFile()], first.io)).toBe(0);
      expect(first.out()).toMatch(/Applied \d+ migration\(s\): 0001_app_users, 0002_user_identifier_mappings/);
      const second = memoryIo(env);
      expect(await runOps(["migrate", "--dotenv", absentEnvFile()], second.io)).toBe(0);
      expect(second.out()).toMatch(/Nothing to apply: \d+ migration\(s\) already applied/);
    } finally {
      await fresh.drop();
    }
  });
});
