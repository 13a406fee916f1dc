import { randomInt, randomUUID } from "node:crypto";
import type pg from "pg";

/** Telegram ids above 2^31, 18-digit OKX UIDs, OKX-shaped keys: new every call. */
export const newTelegramId = () => String(7_000_000_000 + randomInt(1, 999_999_999));
export const newOkxUid = () => `5187965580${randomInt(10_000_000, 100_000_000)}`;
export const newCredentials = () => ({
  apiKey: randomUUID(),
  secret: randomUUID().replaceAll("-", "").toUpperCase(),
  passphrase: `Pass-${randomInt(1_000, 9_999)}!`,
});

/** An active app user with its mapping, written directly (the tests of other routes make their own users). */
export async function insertUser(db: pg.Client, options: { okxUid?: string | null; telegramId?: string; active?: boolean } = {}): Promise<{ id: string; okxUid: string | null; telegramId: string }> {
  const id = randomUUID();
  const telegramId = options.telegramId ?? newTelegramId();
  const okxUid = options.okxUid === undefined ? newOkxUid() : options.okxUid;
  const active = options.active ?? true;
  await db.query("INSERT INTO app_users (id, telegram_id, okx_uid, is_active) VALUES ($1, $2, $3, $4)", [id, telegramId, okxUid, active]);
  await db.query("INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source) VALUES ($1, $2, $3, $4, 'admin')", [id, telegramId, okxUid, active]);
  return { id, okxUid, telegramId };
}
