import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { PassThrough } from "node:stream";
import { Redis } from "@upstash/redis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresCredentialsStore } from "../../core/credentials/adapters/postgres-credentials-store";
import { UpstashLegacyCredentials } from "../../core/credentials/adapters/upstash-legacy-credentials";
import { CredentialsCipher } from "../../core/credentials/cipher";
import { keyRingFrom } from "../../core/credentials/key-ring";
import { migrateLegacyCredentials } from "../../core/credentials/migrate-legacy";
import { rotateCredentials } from "../../core/credentials/rotate-credentials";
import type { ExchangeCredentials } from "../../core/exchange/model";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { runOps } from "../../scripts/ops/cli";
import { TEST_ENCRYPTION_KEY, useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { insertUser, newCredentials } from "./support";
import { deleteKeys } from "../support/ops";

let app: AppEnv;
let db: pg.Client;
let redis: Redis;
let keys: RedisKeys;
let store: PostgresCredentialsStore;
const testCipher = new CredentialsCipher(keyRingFrom(TEST_ENCRYPTION_KEY));

beforeAll(async () => {
  app = await useAppEnv();
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
  redis = createUpstashRedis({ url: app.env.UPSTASH_REDIS_REST_URL as string, token: app.env.UPSTASH_REDIS_REST_TOKEN as string, retries: 0 });
  keys = new RedisKeys(app.keyPrefix);
  store = new PostgresCredentialsStore(new Database(createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY })));
});

afterAll(async () => {
  if (redis && app) {
    await deleteKeys(redis, `${app.keyPrefix}*`, 500);
  }
  await db?.end();
  await app?.database.drop();
});

function memoryIo(env: Record<string, string | undefined>) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  stderr.resume();
  return { io: { stdout, stderr, env, cwd: resolve(".") }, out: () => out };
}

/** As runtime/credentials.ts builds it: values exactly as stored (a JSON-parsing client reads "1e5" as 100000). */
const rawRedis = () => new Redis({ url: app.env.UPSTASH_REDIS_REST_URL as string, token: app.env.UPSTASH_REDIS_REST_TOKEN as string, automaticDeserialization: false, enableTelemetry: false });

const noEnvFile = () => resolve("test/fixtures/no-such-env-file");

async function ops(args: string[], env: Record<string, string | undefined> = app.env): Promise<{ code: number; out: string }> {
  const cli = memoryIo(env);
  const code = await runOps([...args, "--dotenv", noEnvFile()], cli.io);
  return { code, out: cli.out() };
}

const countLine = (out: string, label: string) => Number(new RegExp(`^\\s*${label}: (\\d+)$`, "m").exec(out)?.[1] ?? NaN);
const toLegacy = (creds: ExchangeCredentials) => ({ api_key: creds.apiKey, api_secret: creds.secretKey, passphrase: creds.passphrase });
const asExchange = (c: ReturnType<typeof newCredentials>): ExchangeCredentials => ({ apiKey: c.apiKey, secretKey: c.secret, passphrase: c.passphrase });

async function rowsFor(userIds: readonly string[]) {
  return store.findSealed(userIds, "okx");
}

describe("migrate-credentials", () => {
  const users: { id: string; okxUid: string; telegramId: string; creds: ExchangeCredentials }[] = [];
  let alreadyUser: { id: string; okxUid: string };
  let conflictUser: { id: string; okxUid: string };

  beforeAll(async () => {
    for (let i = 0; i < 25; i++) {
      const user = await insertUser(db);
      // Values that a JSON-parsing client would turn into numbers must survive as strings.
      const creds = i === 0 ? { ...asExchange(newCredentials()), passphrase: "0123" } : i === 1 ? { ...asExchange(newCredentials()), passphrase: "1e5" } : asExchange(newCredentials());
      users.push({ id: user.id, okxUid: user.okxUid as string, telegramId: user.telegramId, creds });
      await redis.hset(keys.legacyApiKeys(user.okxUid as string), { ...toLegacy(creds), telegram_id: user.telegramId });
    }
    const already = await insertUser(db);
    const alreadyCreds = asExchange(newCredentials());
    await store.save(testCipher.sealCredentials(already.id, "okx", alreadyCreds, new Date()));
    await redis.hset(keys.legacyApiKeys(already.okxUid as string), toLegacy(alreadyCreds));
    alreadyUser = { id: already.id, okxUid: already.okxUid as string };
    const conflict = await insertUser(db);
    await store.save(testCipher.sealCredentials(conflict.id, "okx", asExchange(newCredentials()), new Date()));
    await redis.hset(keys.legacyApiKeys(conflict.okxUid as string), toLegacy(asExchange(newCredentials())));
    conflictUser = { id: conflict.id, okxUid: conflict.okxUid as string };
    for (let i = 0; i < 3; i++) await redis.hset(keys.legacyApiKeys(`77700000000000000${i}`), toLegacy(asExchange(newCredentials())));
    await redis.hset(keys.legacyApiKeys("777111111111111111"), { api_key: "only-a-key" });
    await redis.set(keys.legacyApiKeys("777222222222222222"), "not a hash");
    // Other layouts are never read.
    await redis.hset(`${app.keyPrefix}user:${users[0]?.okxUid}:preferences`, { timeframe: "1m" });
  });

  it("dry run: exact counts, nothing written", async () => {
    // SCAN walks the whole shared keyspace: large pages keep the round trips few.
    const { code, out } = await ops(["migrate-credentials", "--scan-count", "5000"]);
    expect(code).toBe(0);
    expect(out).toContain("Dry run: nothing written.");
    expect(countLine(out, "Hashes scanned")).toBe(32);
    expect([countLine(out, "migrated"), countLine(out, "already migrated"), countLine(out, "conflict"), countLine(out, "no user"), countLine(out, "invalid")]).toEqual([25, 1, 1, 3, 2]);
    expect(await rowsFor(users.map((user) => user.id))).toEqual([]);
    expect(await redis.exists(keys.credentialsMigrationCursor())).toBe(0);
  });

  it("--apply stops after --max-pages with its cursor saved, and the next run resumes and finishes", async () => {
    // The real source, except that SCAN pages through exactly this file's hashes, 5 at a time (the
    // shared keyspace would make the page boundaries depend on other tests' keys).
    const real = new UpstashLegacyCredentials(rawRedis(), keys);
    const mine = [...users.map((user) => user.okxUid), alreadyUser.okxUid, conflictUser.okxUid].map((okxUid) => keys.legacyApiKeys(okxUid));
    const source = Object.create(real) as UpstashLegacyCredentials;
    source.scan = async (cursor: string) => {
      const at = Number(cursor);
      const next = at + 5 >= mine.length ? "0" : String(at + 5);
      return { cursor: next, keys: mine.slice(at, at + 5) };
    };
    source.read = (names) => real.read(names);
    const deps = { source, store, cipher: testCipher, clock: { now: () => new Date() } };
    const options = { apply: true, deletePlaintext: false, scanCount: 5, restart: false };
    const first = await migrateLegacyCredentials(deps, { ...options, maxPages: 2 });
    expect(first).toMatchObject({ complete: false, scanned: 10, resumedFrom: null });
    expect(first.counts.migrated).toBe(10);
    expect(await redis.get(keys.credentialsMigrationCursor())).toBe(10);

    const second = await migrateLegacyCredentials(deps, options);
    expect(second).toMatchObject({ complete: true, scanned: 17, resumedFrom: "10" });
    expect(second.counts).toMatchObject({ migrated: 15, already_migrated: 1, conflict: 1 });
    expect(await redis.exists(keys.credentialsMigrationCursor())).toBe(0);
    const rows = await rowsFor(users.map((user) => user.id));
    expect(rows).toHaveLength(25);
    for (const user of users) {
      const row = rows.find((candidate) => candidate.userId === user.id);
      expect(row && testCipher.openCredentials(row)).toEqual(user.creds);
    }
    // The plaintext stays until asked for.
    expect(await redis.hget(keys.legacyApiKeys(users[0]?.okxUid as string), "api_secret")).toBe(users[0]?.creds.secretKey);
  });

  it("--delete-plaintext removes the secret fields of verified copies only, keeping the rest of the hash", async () => {
    const { code, out } = await ops(["migrate-credentials", "--apply", "--delete-plaintext", "--scan-count", "5000"]);
    expect(code).toBe(0);
    expect(countLine(out, "already migrated")).toBe(26);
    expect(out).toMatch(/^Plaintext deleted: 26$/m);
    const first = users[0] as (typeof users)[number];
    expect(await redis.hgetall(keys.legacyApiKeys(first.okxUid))).toEqual({ telegram_id: Number(first.telegramId) });
    expect(await redis.exists(keys.legacyApiKeys(alreadyUser.okxUid))).toBe(0);
    // The conflicting hash keeps its plaintext: Postgres has other values.
    expect(await redis.hget(keys.legacyApiKeys(conflictUser.okxUid), "api_key")).not.toBeNull();
    const again = await ops(["migrate-credentials", "--scan-count", "5000"]);
    expect([countLine(again.out, "migrated"), countLine(again.out, "plaintext gone"), countLine(again.out, "conflict")]).toEqual([0, 25, 1]);
  });

  it("keeps the plaintext of a hash that changed after it was copied", async () => {
    const user = await insertUser(db);
    const creds = asExchange(newCredentials());
    const key = keys.legacyApiKeys(user.okxUid as string);
    await redis.hset(key, toLegacy(creds));
    const source = new UpstashLegacyCredentials(rawRedis(), keys);
    await redis.hset(key, { api_secret: "rotated-by-a-bot" });
    expect(await source.deletePlaintext([{ key, expected: toLegacy(creds) }])).toEqual([false]);
    expect(await redis.hget(key, "api_secret")).toBe("rotated-by-a-bot");
    expect(await source.deletePlaintext([{ key, expected: { ...toLegacy(creds), api_secret: "rotated-by-a-bot" } }])).toEqual([true]);
    expect(await redis.exists(key)).toBe(0);
  });
});

describe("rotate-credentials", () => {
  const newKey = randomBytes(32).toString("base64");
  const rotatedEnv = () => ({ ...app.env, ENCRYPTION_KEY: newKey, ENCRYPTION_PREVIOUS_KEYS: TEST_ENCRYPTION_KEY });
  const newCipher = new CredentialsCipher(keyRingFrom(newKey));
  const seeded: { id: string; creds: ExchangeCredentials }[] = [];

  beforeAll(async () => {
    await db.query("DELETE FROM exchange_credentials");
    for (let i = 0; i < 23; i++) {
      const user = await insertUser(db);
      const creds = asExchange(newCredentials());
      await store.save(testCipher.sealCredentials(user.id, "okx", creds, new Date()));
      seeded.push({ id: user.id, creds });
    }
  });

  it("--dry-run opens every row and writes nothing", async () => {
    const { code, out } = await ops(["rotate-credentials", "--dry-run", "--batch", "7"], rotatedEnv());
    expect(code).toBe(0);
    expect(out).toMatch(/^Would re-seal: 23$/m);
    expect(await store.countByKey()).toEqual({ [testCipher.currentKeyId]: 23 });
  });

  it("re-seals in batches, resumes after a cut, and then only the new key is needed", async () => {
    const abort = new AbortController();
    const deps = { store, cipher: new CredentialsCipher(keyRingFrom(newKey, [TEST_ENCRYPTION_KEY])) };
    const cut = await rotateCredentials(deps, { batch: 7, dryRun: false, signal: abort.signal, onProgress: () => abort.abort() });
    expect(cut).toMatchObject({ complete: false, examined: 7, resealed: 7, total: 23 });
    expect(await store.countByKey()).toEqual({ [testCipher.currentKeyId]: 16, [newCipher.currentKeyId]: 7 });

    const { code, out } = await ops(["rotate-credentials", "--batch", "7"], rotatedEnv());
    expect(code).toBe(0);
    expect(out).toMatch(/^Re-sealed: 16$/m);
    expect(out).toContain("Done.");
    expect(await store.countByKey()).toEqual({ [newCipher.currentKeyId]: 23 });
    const rows = await rowsFor(seeded.map((entry) => entry.id));
    for (const entry of seeded) {
      const row = rows.find((candidate) => candidate.userId === entry.id);
      expect(row && newCipher.openCredentials(row)).toEqual(entry.creds);
    }
  });

  it("never overwrites a PUT that lands between read and write, and reports rows no key opens (exit 1)", async () => {
    const [racing, lost] = [await insertUser(db), await insertUser(db)];
    await store.save(testCipher.sealCredentials(racing.id, "okx", asExchange(newCredentials()), new Date()));
    const stranger = new CredentialsCipher(keyRingFrom(randomBytes(32).toString("base64")));
    await store.save(stranger.sealCredentials(lost.id, "okx", asExchange(newCredentials()), new Date()));
    const putMeanwhile = asExchange(newCredentials());
    const racingStore = Object.create(store) as PostgresCredentialsStore;
    racingStore.replaceSealed = async (rows) => {
      await store.save(testCipher.sealCredentials(racing.id, "okx", putMeanwhile, new Date()));
      return store.replaceSealed(rows);
    };
    const report = await rotateCredentials({ store: racingStore, cipher: new CredentialsCipher(keyRingFrom(newKey, [TEST_ENCRYPTION_KEY])) }, { batch: 50, dryRun: false });
    expect(report).toMatchObject({ complete: true, resealed: 0, changedMeanwhile: 1 });
    expect(report.failed).toEqual([expect.objectContaining({ userId: lost.id, problem: expect.stringMatching(/^unknown_key/) })]);
    const [row] = await rowsFor([racing.id]);
    expect(row && testCipher.openCredentials(row)).toEqual(putMeanwhile);

    const { code, out } = await ops(["rotate-credentials"], rotatedEnv());
    expect(code).toBe(1);
    expect(out).toMatch(/^Re-sealed: 1$/m);
    expect(out).toMatch(/^Failed \(do not open with the key ring\): 1$/m);
  });
});
