import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool, createSql } from "../../core/db/neon";
import { loadMigrations, migrate } from "../../core/db/migrate";
import { migrateDatabase } from "../../local/database";
import { cloudEnv, createTestDatabase } from "../support/cloud";
import type { TestDatabase } from "../support/cloud";

let database: TestDatabase;
const scratchDirs: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await Promise.all(scratchDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  await database?.drop();
});

/** A folder of migration files for one test, removed after the file's tests. */
async function migrationsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "botstate-migrations-"));
  scratchDirs.push(dir);
  return dir;
}

const settings = () => ({ databaseUrl: database.url, fetchEndpoint: cloudEnv().NEON_FETCH_ENDPOINT, wsProxy: cloudEnv().NEON_WS_PROXY });

describe("migrations", () => {
  it("applies every file once, records it, and is a no-op when run again", async () => {
    const first = await migrateDatabase(cloudEnv(), database.url);
    const files = await loadMigrations();
    expect(first.applied).toEqual(files.map((m) => `${String(m.version).padStart(4, "0")}_${m.name}`));
    const second = await migrateDatabase(cloudEnv(), database.url);
    expect(second).toEqual({ applied: [], alreadyApplied: files.length });
    const sql = createSql(settings());
    const ledger = await sql`SELECT version, checksum FROM schema_migrations ORDER BY version`;
    expect(ledger.map((row) => row.checksum)).toEqual(files.map((m) => m.checksum));
  });

  it("runs concurrent runners safely under the advisory lock", async () => {
    const results = await Promise.all([1, 2, 3].map(() => migrateDatabase(cloudEnv(), database.url)));
    for (const result of results) expect(result.applied).toEqual([]);
  });

  it("refuses a migration edited after it was applied", async () => {
    const dir = await migrationsDir();
    const [original] = await loadMigrations();
    if (!original) throw new Error("no migrations");
    await writeFile(join(dir, `0001_${original.name}.sql`), `${original.sql}\n-- edited`);
    const pool = createPool(settings(), 1);
    try {
      await expect(migrate(pool, await loadMigrations(dir))).rejects.toThrow(/changed after it was applied/);
    } finally {
      await pool.end();
    }
  });

  it("rolls back a failing migration together with its ledger row", async () => {
    const dir = await migrationsDir();
    for (const m of await loadMigrations()) await writeFile(join(dir, `${String(m.version).padStart(4, "0")}_${m.name}.sql`), m.sql);
    await writeFile(join(dir, "0999_broken.sql"), "CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;");
    const pool = createPool(settings(), 1);
    try {
      await expect(migrate(pool, await loadMigrations(dir))).rejects.toThrow(/0999_broken failed/);
    } finally {
      await pool.end();
    }
    const sql = createSql(settings());
    const leftovers = await sql`SELECT to_regclass('half_done') AS t, (SELECT count(*) FROM schema_migrations WHERE version = 999) AS n`;
    expect(leftovers[0]).toEqual({ t: null, n: "0" });
  });

  it("stores Telegram ids beyond 32 bits in app_users", async () => {
    const sql = createSql(settings());
    const telegramId = "4503599627370495"; // 2^52 - 1
    await sql`INSERT INTO app_users (id, telegram_id, okx_uid) VALUES (gen_random_uuid(), ${telegramId}, '518796558012178692')`;
    const [row] = await sql`SELECT telegram_id, created_at, updated_at FROM app_users WHERE okx_uid = '518796558012178692'`;
    expect(row?.telegram_id).toBe(telegramId);
    await expect(sql`INSERT INTO app_users (id, telegram_id) VALUES (gen_random_uuid(), ${telegramId})`).rejects.toMatchObject({ code: "23505" });
  });
});
