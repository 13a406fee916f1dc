import { randomInt, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Redis } from "@upstash/redis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisKeys } from "../../core/redis/keys";
import { runOps } from "../../scripts/ops/cli";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { runOpsCaptured } from "../support/ops";
import type { OpsRun } from "../support/ops";

let app: AppEnv;
let db: pg.Client;
let redis: Redis;
let keys: RedisKeys;
let cwd: string;

const telegramId = () => String(randomInt(1_000_000, 9_999_999_999));
const okxUid = () => `5187965580${randomInt(10_000_000, 100_000_000)}`;

async function ops(...argv: string[]): Promise<OpsRun> {
  return runOpsCaptured(argv, { env: app.env, cwd: cwd });
}

const mappings = async () => Number((await db.query("SELECT count(*)::int AS n FROM user_identifier_mappings")).rows[0]?.n);

beforeAll(async () => {
  app = await useAppEnv();
  const clients = await import("../../runtime/clients/redis");
  redis = clients.redisClient();
  keys = clients.redisKeys();
  cwd = await mkdtemp(join(tmpdir(), "botstate-sync-ops-"));
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe("ops sync-identifiers", () => {
  it("--dry-run prints what it would write and writes nothing; the real run writes it; exit 0 with invalid values reported", async () => {
    const okxs = [okxUid(), okxUid(), okxUid()];
    for (const okx of okxs) await redis.hset(keys.legacyApiKeys(okx), { telegram_id: telegramId() });
    const bad = okxUid();
    await redis.hset(keys.legacyPreferences(bad), { telegram_id: "not-a-chat" });

    const dry = await ops("sync-identifiers", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("DRY RUN (nothing written): sync identifiers: scanned 4, unchanged 0, would write 3, conflicts 0, invalid 1, failed 0");
    expect(dry.out).toContain(`${keys.legacyPreferences(bad)}  telegram_id: must be an integer`);
    expect(await mappings()).toBe(0);

    const real = await ops("sync-identifiers", "--full");
    expect(real.code).toBe(0);
    expect(real.out).toMatch(/^sync identifiers: scanned 4, unchanged 0, written 3, conflicts 0, invalid 1, failed 0, \d+ rows\/s \(every key visited/m);
    expect(await mappings()).toBe(3);
  });

  it("--okx-uid takes one user; a malformed one is a usage error", async () => {
    const okx = okxUid();
    await redis.hset(keys.legacyApiKeys(okx), { telegram_id: telegramId() });
    const one = await ops("sync-identifiers", "--okx-uid", okx);
    expect(one.code).toBe(0);
    expect(one.out).toContain("scanned 1, unchanged 0, written 1");
    expect((await ops("sync-identifiers", "--okx-uid", "12*")).code).toBe(2);
  });

  it("exits 1 when the database is unreachable", async () => {
    const broken = { ...app.env, DATABASE_URL: "postgres://nobody:nothing@127.0.0.1:9/none", NEON_FETCH_ENDPOINT: "http://127.0.0.1:9/sql" };
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.resume();
    let err = "";
    stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    expect(await runOps(["sync-identifiers"], { stdout, stderr, env: broken, cwd })).toBe(1);
    expect(err).toContain("sync identifiers stopped: sync lock");
  });
});

describe("the sync cron function", () => {
  it("runs every source within the invocation's time and reports their counts", async () => {
    const okx = okxUid();
    await redis.hset(keys.legacyApiKeys(okx), { telegram_id: telegramId() });
    // The ops runs above pointed the runtime at their settings (the last one at a dead database).
    (await import("../../runtime/config")).useConfigSource(process.env);
    const { handler } = await import("../../functions/sync-cron");
    const result = await handler({}, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 30_000 });
    const identifiers = result.sources.find((entry) => (entry as { source: string }).source === "identifiers");
    expect(identifiers).toMatchObject({ stop: "done", counts: { written: 1 } });
    expect((await db.query("SELECT okx_uid FROM user_identifier_mappings WHERE okx_uid = $1", [okx])).rowCount).toBe(1);
    const state = await db.query("SELECT source, lease_owner, completed_pass_at IS NOT NULL AS done FROM sync_state");
    expect(state.rows).toContainEqual({ source: "identifiers", lease_owner: null, done: true });
  });
});
