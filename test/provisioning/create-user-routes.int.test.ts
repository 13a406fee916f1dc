import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { requestHash } from "../../core/provisioning/idempotency";
import { createUserBodySchema } from "../../core/provisioning/schemas";
import { token } from "../lookups/support/http";
import { call, countUsers, createUser, newPerson, setMode, startHarness } from "./support/harness";
import type { AcceptedBody, Harness, ProvisioningBody, UserBody } from "./support/harness";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => harness?.close());

const fieldsOf = (body: unknown) => ((body as { error: { fields?: { field: string }[] } }).error.fields ?? []).map((issue) => issue.field);

describe("POST /v1/users in sync_direct", () => {
  beforeAll(async () => setMode(harness, "sync_direct"));

  it("creates the user, its mapping and its default settings, and answers 201 with the user", async () => {
    const person = newPerson();
    const answer = await createUser(harness, randomUUID(), person);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ email: person.email.toLowerCase(), telegramId: person.telegramId, okxUid: person.okxUid, plan: "pro", isActive: true });
    expect(answer.headers.get("idempotent-replayed")).toBeNull();
    const { rows } = await harness.db.query("SELECT source, is_active FROM user_identifier_mappings WHERE user_id = $1", [answer.body.id]);
    expect(rows).toEqual([{ source: "registration", is_active: true }]);
    const settings = await harness.db.query("SELECT setting_type, version FROM user_settings WHERE user_id = $1 ORDER BY setting_type", [answer.body.id]);
    expect(settings.rows).toEqual(["dual_side", "params", "preferences"].map((type) => ({ setting_type: type, version: 1 })));
  });

  it("drops a cached 'not found' for the new user's identifiers: the invalidation row commits with the user and is delivered", async () => {
    const person = newPerson();
    const before = await call(harness, "GET", `/v1/lookups/${person.okxUid}?kind=okx_uid`, { token: harness.service });
    expect(before.status).toBe(404);
    const answer = await createUser(harness, randomUUID(), person);
    expect(answer.status).toBe(201);
    const after = await call<{ userId: string }>(harness, "GET", `/v1/lookups/${person.okxUid}?kind=okx_uid`, { token: harness.service });
    expect(after.status).toBe(200);
    expect(after.body.userId).toBe(answer.body.id);
    const owed = await harness.db.query("SELECT count(*)::int AS n FROM outbox WHERE topic = 'lookups.invalidate' AND key = $1", [answer.body.id]);
    expect(owed.rows[0]?.n).toBe(0);
  });

  it("replays the first answer for the same key and body, with Idempotent-Replayed", async () => {
    const person = newPerson();
    const key = randomUUID();
    const first = await createUser(harness, key, person);
    // Same request, other JSON spelling: a number telegram id and another email case.
    const again = await createUser(harness, key, { ...person, telegramId: Number(person.telegramId), email: person.email.toUpperCase() });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await countUsers(harness, "telegram_id = $1", [person.telegramId])).toBe(1);
  });

  it("refuses the same key with a different body (422 naming the header)", async () => {
    const key = randomUUID();
    expect((await createUser(harness, key, newPerson())).status).toBe(201);
    const other = await createUser(harness, key, newPerson());
    expect(other.status).toBe(422);
    expect(fieldsOf(other.body)).toEqual(["headers.idempotency-key"]);
  });

  it("answers the existing user (200) for a new key with the same identifiers, and 409 for identifiers of another user", async () => {
    const person = newPerson();
    const first = await createUser(harness, randomUUID(), person);
    const sameUser = await createUser(harness, randomUUID(), { ...person, plan: "basic" });
    expect(sameUser.status).toBe(200);
    expect(sameUser.body.id).toBe(first.body.id);
    const replay = await createUser(harness, randomUUID(), { ...person, okxUid: undefined });
    expect(replay.status).toBe(200);

    const other = newPerson();
    await createUser(harness, randomUUID(), other);
    const mixed = await createUser(harness, randomUUID(), { ...newPerson(), email: person.email, telegramId: other.telegramId });
    expect(mixed.status).toBe(409);
    const differentTelegram = await createUser(harness, randomUUID(), { ...person, telegramId: newPerson().telegramId });
    expect(differentTelegram.status).toBe(409);
    expect(await countUsers(harness, "lower(email) = lower($1)", [person.email])).toBe(1);
  });

  it("makes concurrent twins one user: every answer names it", async () => {
    const person = newPerson();
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, index) => createUser(harness, index % 3 === 0 ? randomUUID() : key, person)));
    const ids = new Set(answers.map((answer) => answer.body.id));
    expect(answers.map((answer) => answer.status).every((status) => status === 200 || status === 201)).toBe(true);
    expect(ids.size).toBe(1);
    expect(await countUsers(harness, "telegram_id = $1", [person.telegramId])).toBe(1);
  });

  it("validates the key and the body with field names, and needs a service or admin token", async () => {
    const missing = await call(harness, "POST", "/v1/users", { token: harness.service, body: newPerson() });
    expect(missing.status).toBe(400);
    expect(fieldsOf(missing.body)).toEqual(["headers.idempotency-key"]);
    const spaced = await createUser(harness, "has space", newPerson());
    expect(fieldsOf(spaced.body)).toEqual(["headers.idempotency-key"]);
    expect((await createUser(harness, "k".repeat(256), newPerson())).status).toBe(400);
    const bad = await createUser(harness, randomUUID(), { email: "nope", telegramId: "0x1", okxUid: "12" });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body).sort()).toEqual(["body.email", "body.okxUid", "body.telegramId"]);
    const asUser = await createUser(harness, randomUUID(), newPerson(), await token("user", randomUUID()));
    expect(asUser.status).toBe(403);
  });

  it("forgets an expired key: the same key then creates anew", async () => {
    const key = randomUUID();
    await createUser(harness, key, newPerson());
    await harness.db.query("UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = $1", [key]);
    const reused = await createUser(harness, key, newPerson());
    expect(reused.status).toBe(201);
    expect(reused.headers.get("idempotent-replayed")).toBeNull();
  });
});

describe("POST /v1/users in async_queue", () => {
  beforeAll(async () => {
    await setMode(harness, "async_queue");
    harness.startConsumer();
  });

  it("answers 202 with Location, and the consumer creates the user", async () => {
    const person = newPerson();
    const key = randomUUID();
    const accepted = await createUser(harness, key, person);
    expect(accepted.status).toBe(202);
    const body = accepted.body as AcceptedBody;
    expect(body).toEqual({ provisioningId: expect.any(String), status: "pending" });
    expect(accepted.headers.get("location")).toBe(`/v1/provisioning/${body.provisioningId}`);

    const done = await vi.waitFor(
      async () => {
        const state = await call<ProvisioningBody>(harness, "GET", `/v1/provisioning/${body.provisioningId}`, { token: harness.service });
        expect(state.body.status).toBe("done");
        return state.body;
      },
      { timeout: 10_000, interval: 100 },
    );
    const { rows } = await harness.db.query("SELECT email, telegram_id::text AS telegram_id FROM app_users WHERE id = $1", [done.userId]);
    expect(rows).toEqual([{ email: person.email.toLowerCase(), telegram_id: person.telegramId }]);

    // A replay stays the 202 it was, with the same Location.
    const replay = await createUser(harness, key, person);
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(body);
    expect(replay.headers.get("location")).toBe(accepted.headers.get("location"));
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });

  it("answers an existing user at once (200) and refuses conflicting identifiers (409) without queueing", async () => {
    await setMode(harness, "sync_direct");
    const person = newPerson();
    const created = await createUser(harness, randomUUID(), person);
    await setMode(harness, "async_queue");
    const again = await createUser(harness, randomUUID(), person);
    expect(again.status).toBe(200);
    expect((again.body as UserBody).id).toBe(created.body.id);
    const key = randomUUID();
    const conflicting = await createUser(harness, key, { ...newPerson(), email: person.email });
    expect(conflicting.status).toBe(409);
    // A refused request leaves no key behind: corrected, the same key works.
    expect((await createUser(harness, key, newPerson())).status).toBe(202);
  });

  it("answers 409 with Retry-After while a twin holds the key, and takes over a key whose owner's lease ran out", async () => {
    const person = newPerson();
    const key = randomUUID();
    const hash = requestHash(createUserBodySchema().parse(person));
    await harness.db.query(
      `INSERT INTO idempotency_records (operation, key, payload_hash, state, locked_until, expires_at)
       VALUES ('create_user', $1, $2, 'in_progress', now() + interval '30 seconds', now() + interval '1 day')`,
      [key, hash],
    );
    const busy = await createUser(harness, key, person);
    expect(busy.status).toBe(409);
    expect(busy.headers.get("retry-after")).toBe("1");

    await harness.db.query("UPDATE idempotency_records SET locked_until = now() - interval '1 second' WHERE key = $1", [key]);
    const resumed = await createUser(harness, key, person);
    expect([201, 202]).toContain(resumed.status);
    expect((await createUser(harness, key, person)).headers.get("idempotent-replayed")).toBe("true");
  });

  it("404s an unknown provisioning id and 400s a malformed one", async () => {
    expect((await call(harness, "GET", `/v1/provisioning/${randomUUID()}`, { token: harness.service })).status).toBe(404);
    expect((await call(harness, "GET", "/v1/provisioning/nope", { token: harness.service })).status).toBe(400);
  });
});
