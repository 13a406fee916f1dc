import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { PostgresMappingRepository } from "../../core/lookups/adapters/postgres-mapping-repository";
import { LOOKUP_INVALIDATION_TOPIC, identifiersIn } from "../../core/lookups/invalidation";
import { PostgresOutbox } from "../../core/outbox/adapters/postgres-outbox";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { okxUid, telegramId } from "./support/http";

let app: AppEnv;
let repository: PostgresMappingRepository;
let outbox: PostgresOutbox;

beforeAll(async () => {
  app = await useAppEnv();
  const env = app.env;
  const db = new Database(createSql({ databaseUrl: env.DATABASE_URL ?? "", fetchEndpoint: env.NEON_FETCH_ENDPOINT, wsProxy: env.NEON_WS_PROXY }));
  repository = new PostgresMappingRepository(db);
  outbox = new PostgresOutbox(db);
});

afterAll(async () => {
  await app?.database.drop();
});

const rowsOf = (userId: string) => outbox.pendingFor(LOOKUP_INVALIDATION_TOPIC, userId);
const sorted = (identifiers: { kind: string; value: string }[]) => identifiers.map((id) => `${id.kind}:${id.value}`).sort();

describe("a mapping change writes the invalidation it owes in its own transaction", () => {
  it("names every identifier of the old and the new state, and is what the writer gets to deliver", async () => {
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true };
    const created = await repository.upsert(person, "admin");
    const [first] = await rowsOf(person.userId);
    expect(created.invalidation?.id).toBe(first?.id);
    expect(sorted(identifiersIn(first ?? { payload: {} }))).toEqual(
      sorted([
        { kind: "user_id", value: person.userId },
        { kind: "telegram_id", value: person.telegramId },
        { kind: "okx_uid", value: person.okxUid },
      ]),
    );

    const [newTelegram, newOkx] = [telegramId(), okxUid()];
    const moved = await repository.patch(person.userId, { telegramId: newTelegram, okxUid: newOkx }, "admin");
    expect(sorted(identifiersIn(moved?.invalidation ?? { payload: {} }))).toEqual(
      sorted([
        { kind: "user_id", value: person.userId },
        { kind: "telegram_id", value: person.telegramId },
        { kind: "telegram_id", value: newTelegram },
        { kind: "okx_uid", value: person.okxUid },
        { kind: "okx_uid", value: newOkx },
      ]),
    );
    const deactivated = await repository.deactivate(person.userId);
    expect(sorted(identifiersIn(deactivated?.invalidation ?? { payload: {} }))).toEqual(
      sorted([
        { kind: "user_id", value: person.userId },
        { kind: "telegram_id", value: newTelegram },
        { kind: "okx_uid", value: newOkx },
      ]),
    );
    expect(await rowsOf(person.userId)).toHaveLength(3);
  });

  it("writes nothing when nothing changes (a re-import stays quiet), and nothing when the change fails", async () => {
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true };
    await repository.upsert(person, "admin");
    await outbox.remove((await rowsOf(person.userId)).map((row) => row.id));

    expect((await repository.upsert(person, "import")).invalidation).toBeNull();
    expect((await repository.patch(person.userId, { okxUid: person.okxUid }, "admin"))?.invalidation).toBeNull();
    await repository.deactivate(person.userId);
    await outbox.remove((await rowsOf(person.userId)).map((row) => row.id));
    expect((await repository.deactivate(person.userId))?.invalidation).toBeNull();

    // A conflicting write rolls back, its outbox row with it.
    const holder = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true };
    await repository.upsert(holder, "admin");
    const claimant = { userId: randomUUID(), telegramId: holder.telegramId, okxUid: okxUid(), isActive: true };
    await expect(repository.upsert(claimant, "admin")).rejects.toMatchObject({ code: "conflict" });
    expect(await rowsOf(claimant.userId)).toHaveLength(0);
    expect(await rowsOf(person.userId)).toHaveLength(0);
  });
});
