import { randomInt, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "@upstash/redis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomIds } from "../../core/clock";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { RedisKeys } from "../../core/redis/keys";
import { PostgresSettingsStore } from "../../core/settings/adapters/postgres-settings-store";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { runOpsCaptured } from "../support/ops";
import type { OpsRun } from "../support/ops";

let app: AppEnv;
let db: pg.Client;
let store: PostgresSettingsStore;
let cwd: string;
let raw: Redis;
const users: { id: string; okxUid: string }[] = [];

async function ops(...argv: string[]): Promise<OpsRun> {
  return runOpsCaptured(argv, { env: app.env, cwd: cwd });
}

const write = (userId: string, type: "preferences" | "params" | "dual_side", settings: Record<string, string | number | boolean>) =>
  store.write({ userId, type, settings, expectedVersion: null, actor: "seed", source: "api" });

beforeAll(async () => {
  app = await useAppEnv();
  cwd = await mkdtemp(join(tmpdir(), "botstate-settings-ops-"));
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
  store = new PostgresSettingsStore(new Database(createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY })), randomIds);
  raw = new Redis({ url: app.env.UPSTASH_REDIS_REST_URL ?? "", token: app.env.UPSTASH_REDIS_REST_TOKEN ?? "", enableTelemetry: false });
  for (let i = 0; i < 3; i++) {
    const user = { id: randomUUID(), okxUid: `5187965580${randomInt(10_000_000, 100_000_000)}` };
    await db.query(`INSERT INTO app_users (id, telegram_id, okx_uid) VALUES ($1, $2, $3)`, [user.id, 7_000_000_000 + randomInt(1, 999_999_999), user.okxUid]);
    users.push(user);
    await write(user.id, "params", { leverage: 10 + i, direction: "long" });
    await write(user.id, "preferences", { timeframe: "1h" });
  }
  // A deleted type is not part of a backup; the API key table is never read.
  await store.remove(users[2]?.id ?? "", "preferences", null);
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
  await rm(cwd, { recursive: true, force: true });
});

describe("export-settings", () => {
  it("writes every current document as a JSON line with its version, and nothing else", async () => {
    const { code, out, err } = await ops("export-settings");
    expect(code).toBe(0);
    const lines = out.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(["okxUid", "settings", "type", "updatedAt", "userId", "version"]);
    expect(lines).toContainEqual(expect.objectContaining({ userId: users[0]?.id, okxUid: users[0]?.okxUid, type: "params", version: 1, settings: { leverage: 10, direction: "long" } }));
    expect(err).toContain("Exported 5 settings document(s)");
  });

  it("exports one user with --okx-uid, to a file with --out", async () => {
    const { code } = await ops("export-settings", "--okx-uid", users[1]?.okxUid ?? "", "--out", "one.jsonl");
    expect(code).toBe(0);
    const lines = (await readFile(join(cwd, "one.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line) as { userId: string });
    expect(lines.map((line) => line.userId)).toEqual([users[1]?.id, users[1]?.id]);
    expect((await ops("export-settings", "--okx-uid", "12x")).code).toBe(2);
  });
});

describe("import-settings", () => {
  it("restores a backup as new versions (source restore) and refreshes the fast copy", async () => {
    const backup = (await ops("export-settings", "--okx-uid", users[0]?.okxUid ?? "")).out;
    await writeFile(join(cwd, "backup.jsonl"), backup);
    await write(users[0]?.id ?? "", "params", { leverage: 99 });
    const { code, out } = await ops("import-settings", "backup.jsonl");
    expect(code).toBe(0);
    expect(out).toContain("Imported 2 document(s)");
    const { rows } = await db.query(`SELECT version, settings, source, actor FROM user_settings_history WHERE user_id = $1 AND setting_type = 'params' ORDER BY version DESC LIMIT 1`, [users[0]?.id]);
    expect(rows[0]).toEqual({ version: 3, settings: { leverage: 10, direction: "long" }, source: "restore", actor: "ops:import-settings" });
    const keys = new RedisKeys(app.keyPrefix);
    expect(await raw.get(keys.settingsFastCopy(users[0]?.okxUid ?? "", "params"))).toEqual({ leverage: 10, direction: "롱" });
  });

  it("reports rejected lines by number, imports the rest, and exits 1; a dry run writes nothing", async () => {
    const good = JSON.stringify({ userId: users[1]?.id, type: "dual_side", settings: { dual_side_entry_trigger: 2 } });
    const byOkxUid = JSON.stringify({ okxUid: users[2]?.okxUid, type: "preferences", settings: { timeframe: "5m" } });
    const lines = [
      good,
      "{not json",
      JSON.stringify({ userId: users[1]?.id, type: "positions", settings: {} }),
      JSON.stringify({ userId: users[1]?.id, type: "params", settings: { leverage: 0 } }),
      "",
      JSON.stringify({ userId: randomUUID(), type: "params", settings: {} }),
      byOkxUid,
    ];
    await writeFile(join(cwd, "mixed.jsonl"), `${lines.join("\n")}\n`);
    const history = async () => Number((await db.query(`SELECT count(*) AS n FROM user_settings_history`)).rows[0]?.n);
    const before = await history();

    const dry = await ops("import-settings", "mixed.jsonl", "--dry-run");
    expect(dry.code).toBe(1);
    expect(dry.out).toContain("2 document(s) would be written");
    expect(await history()).toBe(before);

    const real = await ops("import-settings", "mixed.jsonl");
    expect(real.code).toBe(1);
    expect(real.out).toContain("Lines read: 7; rejected: 4");
    expect(real.out).toContain("line 2: not valid JSON");
    expect(real.out).toContain("line 3: type must be preferences, params or dual_side");
    expect(real.out).toContain("line 4: settings.leverage: must be an integer from 1 to 125");
    expect(real.out).toContain("line 6: no active user");
    expect(await history()).toBe(before + 2);
    const { rows } = await db.query(`SELECT settings, deleted_at FROM user_settings WHERE user_id = $1 AND setting_type = 'preferences'`, [users[2]?.id]);
    expect(rows).toEqual([{ settings: { timeframe: "5m" }, deleted_at: null }]);
    expect((await ops("import-settings")).code).toBe(2);
  });
});
