import { randomInt, randomUUID } from "node:crypto";
import { getAllSettings } from "../../core/settings/get-settings";
import { putSettings } from "../../core/settings/write-settings";
import { backgroundTasks } from "../../runtime/background";
import { buildSettings } from "../../runtime/settings";
import type { SettingsModule } from "../../runtime/settings";
import { measureAlternating } from "../stats";
import type { BenchContext, Workload, WorkloadResult } from "../workload";

/**
 * User settings: the Redis-first read of all three types against a bare pipeline of the same three
 * reads, and a write (transaction, then the fast-copy refresh) against a bare transaction of the
 * same upsert and history insert plus a bare SET. Each row alternates its own operation with its
 * floor's, one after the other, so both see the same moments of a shared, busy machine.
 */

const queries = { count: 0 };
let module: SettingsModule | undefined;
const settingsModule = (): SettingsModule => (module ??= buildSettings({ onQuery: () => void (queries.count += 1) }));

async function newUser({ sql }: BenchContext): Promise<{ readonly id: string; readonly okxUid: string }> {
  const user = { id: randomUUID(), okxUid: `9${String(randomInt(10 ** 11, 10 ** 12 - 1))}${String(randomInt(10_000, 99_999))}` };
  await sql.query(`INSERT INTO app_users (id, telegram_id, okx_uid) VALUES ($1, $2, $3)`, [user.id, String(8_000_000_000 + randomInt(1, 2 ** 40)), user.okxUid]);
  return user;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

let reader: { readonly id: string; readonly okxUid: string } | undefined;

export const settingsWorkloads: readonly Workload[] = [
  {
    name: "settings-read-hit",
    description: "getAllSettings (the API's core path: all three types from the fast copy) vs a bare @upstash/redis pipeline of the same three reads",
    targetRatio: 1.25,
    setup: async (context) => {
      reader = await newUser(context);
      const { write } = settingsModule();
      await putSettings(write, { userId: reader.id, type: "preferences", body: { timeframe: "5m", symbol: "BTC-USDT-SWAP" }, expectedVersion: null, actor: "bench" });
      await putSettings(write, { userId: reader.id, type: "params", body: { leverage: 10, direction: "long_short", rsi_length: 14, tp1_value: 2, tp2_value: 3, tp3_value: 4 }, expectedVersion: null, actor: "bench" });
      await putSettings(write, { userId: reader.id, type: "dual_side", body: { use_dual_side_entry: true, dual_side_entry_trigger: 3 }, expectedVersion: null, actor: "bench" });
    },
    run: async (context): Promise<WorkloadResult> => {
      const user = reader;
      if (!user) throw new Error("settings-read-hit: setup did not run");
      const { read } = settingsModule();
      const { redis, keys } = context;
      const bare = () =>
        redis
          .pipeline()
          .hgetall(keys.settingsFastCopy(user.okxUid, "preferences"))
          .get(keys.settingsFastCopy(user.okxUid, "params"))
          .hgetall(keys.settingsFastCopy(user.okxUid, "dual_side"))
          .exec();
      let misses = 0;
      let firstMiss = "";
      const subject = async () => {
        const all = await getAllSettings(read, { userId: user.id });
        if (!all.preferences?.synced || !all.params?.synced || !all.dual_side?.synced) {
          misses += 1;
          firstMiss ||= JSON.stringify(all).slice(0, 300);
        }
      };
      const before = queries.count;
      const iterations = Math.round(2000 * context.scale);
      const measured = await measureAlternating(subject, bare, iterations);
      return {
        ...measured.subject,
        measuredFloor: { name: "redis pipeline of 3 reads (alternated)", medianMs: measured.floor.medianMs },
        errors: misses,
        extra: { floorP95Ms: round(measured.floor.p95Ms), dbQueriesPerOp: round((queries.count - before) / (iterations + Math.ceil(iterations / 10))), notFromRedis: misses, ...(firstMiss ? { firstMiss } : {}) },
      };
    },
  },
  {
    name: "settings-write",
    description: "putSettings of params (one bounded transaction: row, version, history, outbox; then the fast-copy script) vs a bare transaction of the same upsert + history insert and a bare SET",
    targetRatio: 1.25,
    run: async (context): Promise<WorkloadResult> => {
      const [user, bareUser] = [await newUser(context), await newUser(context)];
      const { write } = settingsModule();
      const { sql, redis, keys } = context;
      const subject = (i: number) => putSettings(write, { userId: user.id, type: "params", body: { leverage: 1 + (i % 100), direction: "long" }, expectedVersion: null, actor: "bench" });
      const bare = async (i: number) => {
        const settings = JSON.stringify({ leverage: 1 + (i % 100), direction: "long" });
        await sql.transaction([
          sql.query(
            `INSERT INTO user_settings (id, user_id, okx_uid, setting_type, settings, version) VALUES ($1, $2, $3, 'params', $4::jsonb, 1)
             ON CONFLICT (user_id, setting_type) DO UPDATE SET settings = EXCLUDED.settings, version = user_settings.version + 1, updated_at = now()`,
            [randomUUID(), bareUser.id, bareUser.okxUid, settings],
          ),
          sql.query(
            `INSERT INTO user_settings_history (settings_id, user_id, setting_type, version, settings, actor, source)
             SELECT id, user_id, setting_type, version, settings, 'bench', 'api' FROM user_settings WHERE user_id = $1 AND setting_type = 'params'`,
            [bareUser.id],
          ),
        ]);
        await redis.set(keys.settingsFastCopy(bareUser.okxUid, "params"), settings);
      };
      const before = queries.count;
      const iterations = Math.round(500 * context.scale);
      const measured = await measureAlternating(subject, bare, iterations);
      await backgroundTasks().settled();
      return {
        ...measured.subject,
        measuredFloor: { name: "bare tx (upsert + history) + SET (alternated)", medianMs: measured.floor.medianMs },
        extra: { floorP95Ms: round(measured.floor.p95Ms), dbRoundTripsPerOp: round((queries.count - before) / (iterations + Math.ceil(iterations / 10))) },
      };
    },
  },
];
