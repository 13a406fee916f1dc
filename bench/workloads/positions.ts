import type { Redis } from "@upstash/redis";
import { systemClock, randomIds } from "../../core/clock";
import { UpstashLegacyKeys } from "../../core/positions/adapters/upstash-legacy-keys";
import { bulkPositions } from "../../core/positions/bulk-positions";
import { migrateKeys, totalOf } from "../../core/positions/migrate-keys";
import { PositionKeys } from "../../core/redis/keys";
import { rawRedisClient } from "../../runtime/clients/redis";
import { UpstashPositionStore } from "../../core/positions/adapters/upstash-position-store";
import { measureAlternating, summarize } from "../stats";
import type { Workload, WorkloadResult } from "../workload";

const BULK_USERS = 1000;
const SYMBOL = "BTC-USDT-SWAP";
const bulkUser = (i: number) => `c0000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
const bulkUsers = Array.from({ length: BULK_USERS }, (_, i) => bulkUser(i));

/**
 * A prefix of this process: other engineers' bench runs on the same Redis delete `bench:*` when
 * they end, which must not empty this run's positions half way.
 */
const BULK_PREFIX = `benchpos:${process.pid}:`;
let bulkStore: UpstashPositionStore | undefined;
const positionStoreOfRun = () => (bulkStore ??= new UpstashPositionStore(rawRedisClient(), new PositionKeys(BULK_PREFIX)));

let seeded: Promise<void> | undefined;

/** One open position per user at the exact key the bulk read names (idempotent: PUT semantics). */
function seedBulk(): Promise<void> {
  seeded ??= (async () => {
    const store = positionStoreOfRun();
    for (let i = 0; i < BULK_USERS; i += 50) {
      await Promise.all(
        bulkUsers.slice(i, i + 50).map((userId) =>
          store.set({ userId, exchange: "okx", symbol: SYMBOL, side: "long" }, { size: 1, entry_price: 65000, leverage: 10, margin_mode: "cross", take_profit: [70000], extra: { bot: "bench" } }, systemClock.now(), randomIds.uuid()),
        ),
      );
    }
  })();
  return seeded;
}

/** Bulk use case and bare pipeline in alternation (same load on the shared cores for both). */
async function bulkVersusPipeline(iterations: number): Promise<WorkloadResult> {
  const store = positionStoreOfRun();
  const redis = rawRedisClient();
  const keys = bulkUsers.map((userId) => new PositionKeys(BULK_PREFIX).position(userId, "okx", SYMBOL, "long"));
  const bulk = () => bulkPositions({ store }, { userIds: bulkUsers, exchange: "okx", symbol: SYMBOL, side: "long" });
  const bare = () => {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    return pipeline.exec();
  };
  let errors = 0;
  const measured = await measureAlternating(
    async () => {
      const found = await bulk();
      if ([...found.values()].filter((list) => list.length === 1).length !== BULK_USERS) errors += 1;
    },
    bare,
    iterations,
  );
  await wipe(redis, `${BULK_PREFIX}*`);
  seeded = undefined;
  return { ...measured.subject, errors, measuredFloor: { name: "bare pipeline, 1,000 HGETALL", medianMs: measured.floor.medianMs } };
}

// ---- migrate-keys-100k ----

const MIGRATION_PREFIX = "benchmig:";
const COPY_PREFIX = "benchcopy:";
const migUser = (i: number) => `d0000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;

type Seeded = { readonly key: string; readonly type: "string" | "hash" };

/** `total` legacy keys, a fifth of each form (GRID arrays of two positions; string and hash forms). */
async function seedLegacy(redis: Redis, keys: PositionKeys, total: number): Promise<Seeded[]> {
  const seeded: Seeded[] = [];
  const value = (side: string) => JSON.stringify({ side, size: "1.5", entry_price: "65000", leverage: 10, bot: "legacy" });
  for (let start = 0; start < total; start += 1000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(total, start + 1000); i++) {
      const user = migUser(Math.floor(i / 5));
      const form = i % 5;
      if (form === 0) seeded.push({ key: keys.legacyPositionBySymbol(user, "BTC-USDT-SWAP"), type: "string" });
      else if (form === 1) seeded.push({ key: keys.legacyUserPosition(user, "ETH-USDT-SWAP", "short"), type: "string" });
      else if (form === 2) seeded.push({ key: keys.legacyExchangePosition(user, "okx", "SOL-USDT-SWAP", "long"), type: "hash" });
      else if (form === 3) seeded.push({ key: keys.legacyGridPositions("okx", user), type: "string" });
      else seeded.push({ key: keys.legacyOrders("okx", user, "BTC-USDT-SWAP"), type: "hash" });
      const entry = seeded[seeded.length - 1] as Seeded;
      if (form === 0 || form === 1) pipeline.set(entry.key, value(form === 0 ? "long" : "short"));
      else if (form === 2) pipeline.hset(entry.key, { size: "2", entry_price: "150", margin_mode: "isolated" });
      else if (form === 3) pipeline.set(entry.key, JSON.stringify([{ symbol: "DOGE-USDT", side: "long", size: 10, entry_price: 0.1 }, { symbol: "ADA-USDT", side: "short", size: 5, entry_price: 0.3 }]));
      else pipeline.hset(entry.key, { "order-1": "placed", "order-2": "filled" });
    }
    await pipeline.exec();
  }
  return seeded;
}

/** The floor: the same keys read and written to new names with bare pipelines, 1,000 a round. */
async function bareCopy(redis: Redis, seeded: readonly Seeded[]): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < seeded.length; start += 1000) {
    const page = seeded.slice(start, start + 1000);
    const read = redis.pipeline();
    for (const entry of page) {
      if (entry.type === "string") read.get(entry.key);
      else read.hgetall(entry.key);
    }
    const values = await read.exec<unknown[]>();
    const write = redis.pipeline();
    page.forEach((entry, i) => {
      const value = values[i];
      const target = COPY_PREFIX + entry.key;
      if (entry.type === "string") write.set(target, String(value));
      else write.hset(target, Object.fromEntries(((value as string[]) ?? []).flatMap((v, j, all) => (j % 2 === 0 ? [[v, all[j + 1] ?? ""]] : []))));
    });
    await write.exec();
  }
  return performance.now() - started;
}

async function wipe(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, { match: pattern, count: 1000 });
    if (found.length > 0) await redis.del(...found.map(String));
    cursor = String(next);
  } while (cursor !== "0");
}

async function migrationVersusCopy(total: number): Promise<WorkloadResult> {
  const redis = rawRedisClient();
  const keys = new PositionKeys(MIGRATION_PREFIX);
  await wipe(redis, `${MIGRATION_PREFIX}*`);
  await wipe(redis, `${COPY_PREFIX}*`);
  const seeded = await seedLegacy(redis, keys, total);
  const copyMs = await bareCopy(redis, seeded);
  await wipe(redis, `${COPY_PREFIX}*`);
  const summary = await migrateKeys({ store: new UpstashLegacyKeys(redis, keys, randomIds), keys, clock: systemClock }, { apply: true, pageSize: 1000, restart: true });
  const migrateMs = summary.elapsedMs;
  const moved = totalOf(summary.counts, "moved");
  await wipe(redis, `${MIGRATION_PREFIX}*`);
  const keysPerSecond = Math.round((moved * 1000) / migrateMs);
  const copyPerSecond = Math.round((seeded.length * 1000) / copyMs);
  return {
    ...summarize([migrateMs], migrateMs),
    opsPerSec: keysPerSecond,
    errors: moved === seeded.length ? 0 : seeded.length - moved,
    measuredFloor: { name: `bare pipelined copy of the same ${seeded.length} keys`, medianMs: Math.round(copyMs * 1000) / 1000 },
    extra: { keys: seeded.length, "keys/s": keysPerSecond, "copy keys/s": copyPerSecond, "share of copy": `${Math.round((keysPerSecond / copyPerSecond) * 100)} %` },
  };
}

/**
 * `positions-bulk-1000` (issue #10): POST /v1/positions/bulk's use case for 1,000 users (exact key)
 * against a bare @upstash/redis pipeline of the same 1,000 HGETALL, alternated; target <= 1.25x.
 * `migrate-keys-100k`: 100,000 legacy keys of every form moved by the migration (--apply) against a
 * bare pipelined copy of the same keys; target >= 50 % of its keys/s (time <= 2x).
 */
export const positionWorkloads: readonly Workload[] = [
  {
    name: "positions-bulk-1000",
    description: "bulk positions of 1,000 users (one pipeline) vs a bare pipeline of the same 1,000 HGETALL",
    targetRatio: 1.25,
    setup: () => seedBulk(),
    run: ({ scale }) => bulkVersusPipeline(Math.max(20, Math.round(100 * scale))),
  },
  {
    name: "migrate-keys-100k",
    description: "migrate-keys --apply over 100,000 legacy keys of every form vs a bare pipelined copy of them",
    targetRatio: 2,
    run: ({ scale }) => migrationVersusCopy(Math.max(5000, Math.round(100_000 * scale))),
  },
];
