import { randomUUID } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createUserBodySchema } from "../../core/provisioning/schemas";
import { redriveDeadLetters } from "../../core/provisioning/redrive";
import { redriveDeps } from "../../runtime/provisioning-queue";
import { countUsers, createUser, newPerson, setMode, startHarness } from "./support/harness";
import type { AcceptedBody, Harness } from "./support/harness";
import { queueDepth } from "./support/queues";

const MAX_RECEIVES = 5;
let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ visibilityTimeoutSeconds: 1, maxReceiveCount: MAX_RECEIVES });
  await setMode(harness, "async_queue");
  // A real database error on chosen emails, a set number of times (a sequence survives the rollback).
  await harness.db.query(`
    CREATE TABLE test_flaky (email text PRIMARY KEY, seq text NOT NULL, failures int NOT NULL);
    CREATE FUNCTION test_flaky_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE f test_flaky%ROWTYPE;
    BEGIN
      SELECT * INTO f FROM test_flaky WHERE email = NEW.email;
      IF FOUND AND nextval(f.seq) <= f.failures THEN
        RAISE EXCEPTION 'simulated database outage' USING ERRCODE = '57P01';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_flaky BEFORE INSERT ON app_users FOR EACH ROW EXECUTE FUNCTION test_flaky_insert();`);
  harness.startConsumer();
});
afterAll(async () => harness?.close());

async function failInsertsOf(email: string, failures: number): Promise<void> {
  const seq = `flaky_${randomUUID().replaceAll("-", "")}`;
  await harness.db.query(`CREATE SEQUENCE ${seq}`);
  await harness.db.query("INSERT INTO test_flaky (email, seq, failures) VALUES ($1, $2, $3)", [email.toLowerCase(), seq, failures]);
}

interface RecordRow {
  status: string;
  failure_kind: string | null;
  error: string | null;
  receive_count: number;
  user_id: string | null;
}

async function record(id: string): Promise<RecordRow | undefined> {
  const { rows } = await harness.db.query<RecordRow>("SELECT status, failure_kind, error, receive_count, user_id FROM provisioning_requests WHERE id = $1", [id]);
  return rows[0];
}

const settled = (id: string, timeout = 20_000) =>
  vi.waitFor(
    async () => {
      const row = await record(id);
      expect(row?.status).not.toBe("pending");
      return row as RecordRow;
    },
    { timeout, interval: 100 },
  );

async function queuePerson(person = newPerson()): Promise<string> {
  const accepted = await createUser(harness, randomUUID(), person);
  expect(accepted.status).toBe(202);
  return (accepted.body as AcceptedBody).provisioningId;
}

/** A provisioning record and its message, as POST /v1/users would leave them, for any request. */
async function enqueueRaw(request: unknown, id = randomUUID()): Promise<string> {
  await harness.db.query("INSERT INTO provisioning_requests (id, idempotency_key, status, request) VALUES ($1, $2, 'pending', $3)", [
    id,
    `raw-${id}`,
    JSON.stringify(request),
  ]);
  await send(JSON.stringify({ provisioningId: id, idempotencyKey: `raw-${id}`, request }));
  return id;
}

const send = (body: string) => harness.sqs.send(new SendMessageCommand({ QueueUrl: harness.queues?.queueUrl, MessageBody: body }));

const queueEmpty = (url: string | undefined) =>
  vi.waitFor(async () => expect(await queueDepth(harness.sqs, url ?? "")).toEqual({ visible: 0, inFlight: 0 }), { timeout: 10_000, interval: 100 });

describe("provisioning consumer", () => {
  it("retries a transient failure until it succeeds", async () => {
    const person = newPerson();
    await failInsertsOf(person.email, 2);
    const id = await queuePerson(person);
    const row = await settled(id);
    expect(row).toMatchObject({ status: "done", receive_count: 3, failure_kind: null });
    expect(await countUsers(harness, "id = $1", [row.user_id])).toBe(1);
  });

  it("settles poison (conflicting identifiers) as failed at the first receive and never retries it", async () => {
    const owner = newPerson();
    const ownerRecord = await settled(await queuePerson(owner));
    expect(ownerRecord.status).toBe("done");
    const id = await enqueueRaw(createUserBodySchema().parse({ ...newPerson(), email: owner.email }));
    const row = await settled(id);
    expect(row).toMatchObject({ status: "failed", failure_kind: "poison", receive_count: 1 });
    expect(row.error).toMatch(/email/);
    await queueEmpty(harness.queues?.queueUrl);
    expect(await queueDepth(harness.sqs, harness.queues?.dlqUrl ?? "")).toEqual({ visible: 0, inFlight: 0 });
  });

  it("settles an invalid request as poison, and drops an unreadable message with an ERROR event", async () => {
    const id = await enqueueRaw({ email: "not-an-email", telegramId: "12" });
    expect(await settled(id)).toMatchObject({ status: "failed", failure_kind: "poison", receive_count: 1 });
    await send("this is not json");
    await send(JSON.stringify({ hello: "no provisioning id" }));
    await vi.waitFor(
      async () => {
        const { rows } = await harness.db.query("SELECT metadata->>'problem' AS problem FROM system_health_logs WHERE level = 'ERROR' ORDER BY created_at");
        expect(rows.map((row) => row.problem)).toEqual(["body is not JSON", "no provisioning id"]);
      },
      { timeout: 10_000, interval: 100 },
    );
    await queueEmpty(harness.queues?.queueUrl);
  });

  it("settles duplicate deliveries of one message once", async () => {
    const person = createUserBodySchema().parse(newPerson());
    const id = randomUUID();
    await harness.db.query("INSERT INTO provisioning_requests (id, idempotency_key, status, request) VALUES ($1, 'dup', 'pending', $2)", [id, JSON.stringify(person)]);
    const body = JSON.stringify({ provisioningId: id, idempotencyKey: "dup", request: person });
    await Promise.all(Array.from({ length: 6 }, () => send(body)));
    expect(await settled(id)).toMatchObject({ status: "done" });
    await queueEmpty(harness.queues?.queueUrl);
    expect(await countUsers(harness, "telegram_id = $1", [person.telegramId])).toBe(1);
  });

  it(`parks a message failing ${MAX_RECEIVES} times in the DLQ with its record failed, and a redrive brings it back`, { timeout: 60_000 }, async () => {
    const person = newPerson();
    await failInsertsOf(person.email, 1_000);
    const id = await queuePerson(person);
    const row = await settled(id, 40_000);
    expect(row).toMatchObject({ status: "failed", failure_kind: "exhausted", receive_count: MAX_RECEIVES });
    expect(row.error).toMatch(/gave up after 5 receives/);
    await vi.waitFor(async () => expect((await queueDepth(harness.sqs, harness.queues?.dlqUrl ?? "")).visible).toBe(1), { timeout: 15_000, interval: 200 });

    const dry = await redriveDeadLetters(redriveDeps(), { dryRun: true, limit: 10 });
    expect(dry).toMatchObject({ dryRun: true, moved: 1, reopened: 0, provisioningIds: [id], remaining: 1 });
    expect((await record(id))?.status).toBe("failed");

    await harness.db.query("DELETE FROM test_flaky WHERE email = $1", [person.email.toLowerCase()]);
    const real = await redriveDeadLetters(redriveDeps(), { dryRun: false, limit: 10 });
    expect(real).toMatchObject({ dryRun: false, moved: 1, reopened: 1, notMoved: 0, provisioningIds: [id], remaining: 0 });
    expect(await settled(id)).toMatchObject({ status: "done", failure_kind: null });
    expect(await countUsers(harness, "telegram_id = $1", [person.telegramId])).toBe(1);
  });
});
