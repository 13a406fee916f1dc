import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOKUP_INVALIDATION_TOPIC, lookupInvalidationMessage } from "../../core/lookups/invalidation";
import { cacheSnapshots } from "../../runtime/cache";
import { lookupOutboxHandlers } from "../../runtime/lookup-invalidations";
import { okxUid, telegramId } from "../lookups/support/http";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";

let harness: Harness;

beforeAll(async () => {
  // No memo: every read shows what the shared user-refs cache answers (the memo is another test's).
  harness = await startHarness({ env: { USER_REF_MEMO_SECONDS: "0" } });
});
afterAll(async () => harness?.close());

const refHits = () => cacheSnapshots().find((snapshot) => snapshot.cache === "user-refs")?.hits ?? 0;
const reconciliation = (ref: string) => call(harness, "GET", `/v1/users/${ref}/reconciliation`, { token: harness.service });

async function mappedUser() {
  const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
  const put = await call(harness, "PUT", `/v1/admin/mappings/${person.userId}`, { token: harness.admin, body: { telegramId: person.telegramId, okxUid: person.okxUid } });
  expect(put.status).toBe(201);
  return person;
}

/** Reads the ref twice: the second answer comes from the shared cache. */
async function cached(ref: string) {
  expect((await reconciliation(ref)).status).toBe(200);
  const hits = refHits();
  expect((await reconciliation(ref)).status).toBe(200);
  expect(refHits()).toBeGreaterThan(hits);
}

describe("the shared {ref} cache is invalidated by mapping changes, not left to its TTL", () => {
  it("a deactivation through the admin API is seen by the next read", async () => {
    const person = await mappedUser();
    await cached(person.userId);
    await cached(person.okxUid);
    expect((await call(harness, "DELETE", `/v1/admin/mappings/${person.userId}`, { token: harness.admin })).status).toBe(200);
    expect((await reconciliation(person.userId)).status).toBe(404);
    expect((await reconciliation(person.okxUid)).status).toBe(404);
  });

  it("an invalidation delivered by the drain (registration, import, sync, a recovered writer) reaches the refs too", async () => {
    const person = await mappedUser();
    await cached(person.okxUid);
    // Behind the cache's back, then the invalidation those writers owe for it, delivered by the drain.
    await harness.db.query("UPDATE user_identifier_mappings SET is_active = false WHERE user_id = $1", [person.userId]);
    await harness.db.query("UPDATE app_users SET is_active = false WHERE id = $1", [person.userId]);
    expect((await reconciliation(person.okxUid)).status).toBe(200);
    const message = lookupInvalidationMessage(randomUUID(), person.userId, [{ kind: "okx_uid", value: person.okxUid }]);
    await lookupOutboxHandlers()[LOOKUP_INVALIDATION_TOPIC]?.(message);
    expect((await reconciliation(person.okxUid)).status).toBe(404);
  });
});
