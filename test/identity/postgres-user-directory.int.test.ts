import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresUserDirectory } from "../../core/identity/adapters/postgres-user-directory";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";

let app: AppEnv;
let admin: pg.Client;
let directory: PostgresUserDirectory;

async function insertUser(options: { okxUid?: string; active?: boolean; mappingOkxUid?: string }): Promise<string> {
  const id = randomUUID();
  const telegramId = String(Math.floor(Math.random() * 9e9) + 1e9);
  await admin.query("INSERT INTO app_users (id, telegram_id, okx_uid, is_active) VALUES ($1, $2, $3, $4)", [id, telegramId, options.okxUid ?? null, options.active ?? true]);
  if (options.mappingOkxUid) {
    await admin.query("INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, source, is_active) VALUES ($1, $2, $3, 'admin', $4)", [id, telegramId, options.mappingOkxUid, options.active ?? true]);
  }
  return id;
}

beforeAll(async () => {
  app = await useAppEnv();
  admin = new pg.Client({ connectionString: app.database.url });
  await admin.connect();
  directory = new PostgresUserDirectory(new Database(createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY })));
});

afterAll(async () => {
  await admin?.end();
  await app?.database.drop();
});

describe("PostgresUserDirectory", () => {
  it("finds active users by id and not deactivated ones", async () => {
    const active = await insertUser({});
    const gone = await insertUser({ active: false });
    expect(await directory.activeUserId(active)).toBe(active);
    expect(await directory.activeUserId(gone)).toBeNull();
    expect(await directory.activeUserId(randomUUID())).toBeNull();
  });

  it("finds a user by the OKX UID on the user or on its mapping, active only", async () => {
    const onUser = await insertUser({ okxUid: "111122223333444455" });
    const onMapping = await insertUser({ mappingOkxUid: "222233334444555566" });
    await insertUser({ okxUid: "333344445555666677", active: false });
    expect(await directory.userIdByOkxUid("111122223333444455")).toBe(onUser);
    expect(await directory.userIdByOkxUid("222233334444555566")).toBe(onMapping);
    expect(await directory.userIdByOkxUid("333344445555666677")).toBeNull();
  });
});
