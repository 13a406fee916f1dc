import { randomInt, randomUUID } from "node:crypto";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { createUserBodySchema } from "../../core/provisioning/schemas";
import { check, eventually } from "./checks";
import type { Check } from "./checks";
import { api, deliver, inBatches } from "./client";
import type { Delivery, Person } from "./client";
import { failInsertsOf } from "./flaky";
import type { ProofWorld } from "./setup";

interface Creation {
  readonly person: Person;
  readonly key: string;
  readonly mode: "async_queue" | "sync_direct";
  deliveries: Delivery[];
  /** The key each delivery used (one in five creations also tries a fresh key). */
  keys: string[];
}

// One dev server plays every Lambda container here: bounded so its single event loop is not the bottleneck.
const PERSONS_IN_FLIGHT = Number(process.env.PROOF_IN_FLIGHT ?? 10);

export function people(world: ProofWorld, count: number, offset = 0): Person[] {
  return Array.from({ length: count }, (_, index) => ({
    email: `proof-${world.run}-${offset + index}@example.com`,
    telegramId: String(9_000_000_000 + offset + index),
    okxUid: String(800_000_000_000_000_000n + BigInt(offset + index)),
    plan: "pro",
  }));
}

export async function setMode(world: ProofWorld, mode: "async_queue" | "sync_direct"): Promise<number> {
  const answer = await api<{ version: number }>(world.server.url, world.admin, "PUT", "/v1/admin/system-mode", { mode, reason: "proof" });
  if (answer.status !== 200) throw new Error(`mode switch failed: ${answer.status}`);
  return answer.body.version;
}

/** 3-10 concurrent deliveries of one creation under its key; one in five also once under a new key. */
async function deliverCreation(world: ProofWorld, creation: Creation): Promise<void> {
  const copies = randomInt(3, 11);
  const keys = Array.from({ length: copies }, (_, index) => (index === 0 && randomInt(5) === 0 ? randomUUID() : creation.key));
  creation.keys = keys;
  creation.deliveries = await Promise.all(keys.map((key) => deliver(world.server.url, world.service, key, creation.person)));
  if (creation.mode === "async_queue") await duplicateMessages(world, creation);
}

/** SQS delivers at least once: the accepted message again, 1-2 more times, straight onto the queue. */
async function duplicateMessages(world: ProofWorld, creation: Creation): Promise<void> {
  const accepted = creation.deliveries.find((delivery) => delivery.status === 202);
  if (!accepted) return;
  const body = JSON.stringify({ provisioningId: accepted.body.provisioningId, idempotencyKey: creation.key, request: createUserBodySchema().parse(creation.person) });
  for (let copy = randomInt(1, 3); copy > 0; copy -= 1) await world.sqs.send(new SendMessageCommand({ QueueUrl: world.queueUrl, MessageBody: body }));
}

async function userIdOf(world: ProofWorld, delivery: Delivery): Promise<string | undefined> {
  if (delivery.status === 200 || delivery.status === 201) return String(delivery.body.id);
  if (delivery.status !== 202) return undefined;
  const state = await api<{ userId?: string }>(world.server.url, world.service, "GET", `/v1/provisioning/${String(delivery.body.provisioningId)}`);
  return state.body.userId;
}

async function sendAll(world: ProofWorld, creations: Creation[]): Promise<void> {
  for (const mode of ["async_queue", "sync_direct"] as const) {
    await setMode(world, mode);
    await inBatches(
      creations.filter((creation) => creation.mode === mode),
      PERSONS_IN_FLIGHT,
      (creation) => deliverCreation(world, creation),
    );
  }
}

async function settled(world: ProofWorld): Promise<boolean> {
  return eventually(async () => {
    const { rows } = await world.db.query<{ n: number }>("SELECT count(*)::int AS n FROM provisioning_requests WHERE status = 'pending'");
    return rows[0]?.n === 0;
  }, 180_000);
}

/** Every delivery of a creation names one user, that user is the only one with its email, and replays agree. */
async function verifyCreations(world: ProofWorld, creations: readonly Creation[]): Promise<{ wrong: string[]; replaysOk: number }> {
  const wrong: string[] = [];
  let replaysOk = 0;
  await inBatches(creations, PERSONS_IN_FLIGHT, async (creation) => {
    const ids = new Set(await Promise.all(creation.deliveries.map((delivery) => userIdOf(world, delivery))));
    const { rows } = await world.db.query<{ id: string }>("SELECT id FROM app_users WHERE email = $1", [creation.person.email]);
    if (ids.size !== 1 || rows.length !== 1 || !ids.has(rows[0]?.id)) wrong.push(`${creation.person.email}: answers ${[...ids].join(",")} rows ${rows.length}`);
    // Every delivery under the creation's key answered the same, and so does one more, later.
    const underKey = creation.deliveries.filter((_, index) => creation.keys[index] === creation.key);
    const replay = await deliver(world.server.url, world.service, creation.key, creation.person);
    const same = (delivery: Delivery) => delivery.status === replay.status && JSON.stringify(delivery.body) === JSON.stringify(replay.body);
    if (replay.replayed && underKey.every(same)) replaysOk += 1;
  });
  return { wrong, replaysOk };
}

/**
 * 1,000 creations (half queued, half direct), each delivered 3-10 times concurrently, queued
 * messages duplicated on SQS, one in ten failing on the database once or twice (redelivered by
 * SQS): exactly one user each, nothing in the DLQ, every replay the same answer.
 */
export async function proveExactlyOnce(world: ProofWorld, count: number, log: (line: string) => void): Promise<Check[]> {
  const creations: Creation[] = people(world, count).map((person, index) => ({ person, key: randomUUID(), mode: index % 2 === 0 ? "async_queue" : "sync_direct", deliveries: [], keys: [] }));
  const flaky = creations.filter((creation, index) => creation.mode === "async_queue" && index % 10 === 0);
  for (const [index, creation] of flaky.entries()) await failInsertsOf(world.db, creation.person.email, 1 + (index % 2), index);
  const started = performance.now();
  await sendAll(world, creations);
  log(`  ${creations.reduce((sum, creation) => sum + creation.deliveries.length, 0)} deliveries sent in ${((performance.now() - started) / 1000).toFixed(1)} s; waiting for the queue`);
  const drained = await settled(world);
  const { rows: users } = await world.db.query<{ n: number }>("SELECT count(*)::int AS n FROM app_users WHERE email LIKE $1", [`proof-${world.run}-%`]);
  const { rows: records } = await world.db.query<{ failed: number; redelivered: number; total: number }>(
    "SELECT count(*) FILTER (WHERE status = 'failed')::int AS failed, count(*) FILTER (WHERE receive_count > 1)::int AS redelivered, count(*)::int AS total FROM provisioning_requests",
  );
  const dlq = await queueDepth(world, world.dlqUrl);
  if (dlq > 0) log(`  in the DLQ: ${(await dlqRecords(world)).join("; ")}`);
  const { wrong, replaysOk } = await verifyCreations(world, creations);
  const statuses = creations.flatMap((creation) => creation.deliveries.map((delivery) => delivery.status));
  const total = (pick: (delivery: Delivery) => number) => creations.reduce((sum, creation) => sum + creation.deliveries.reduce((inner, delivery) => inner + pick(delivery), 0), 0);
  const waited = total((delivery) => delivery.conflicts);
  const retried = total((delivery) => delivery.retried);
  return [
    check("queue drained", drained, `${records[0]?.total ?? 0} provisioning records, ${records[0]?.redelivered ?? 0} redelivered by SQS after a failure`),
    check(`exactly ${count} users`, users[0]?.n === count, `${users[0]?.n ?? 0} users for ${count} creations (${statuses.length} deliveries; ${waited} 409s waited out, ${retried} 5xx retried)`),
    check("every delivery answered 2xx", statuses.every((status) => status >= 200 && status < 300), summarize(statuses)),
    check("every answer names the one user", wrong.length === 0, wrong.length === 0 ? "all creations consistent" : wrong.slice(0, 5).join("; ")),
    check("no failed records, nothing in the DLQ", records[0]?.failed === 0 && dlq === 0, `${records[0]?.failed ?? 0} failed, ${dlq} in the DLQ`),
    check("replays answer the first answer", replaysOk === count, `${replaysOk}/${count} replays identical with Idempotent-Replayed`),
  ];
}

function summarize(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`).join(", ");
}

export async function queueDepth(world: ProofWorld, queueUrl: string): Promise<number> {
  const { Attributes } = await world.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** What sits in the DLQ and the state of each message's record (a diagnosis when the check fails). */
async function dlqRecords(world: ProofWorld): Promise<string[]> {
  const { Messages = [] } = await world.sqs.send(new ReceiveMessageCommand({ QueueUrl: world.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageSystemAttributeNames: ["All"] }));
  return Promise.all(
    Messages.map(async (message) => {
      const id = (JSON.parse(message.Body ?? "{}") as { provisioningId?: string }).provisioningId;
      const { rows } = await world.db.query<{ status: string; receive_count: number }>("SELECT status, receive_count FROM provisioning_requests WHERE id = $1", [id]);
      return `${id} (record ${rows[0]?.status ?? "missing"}, receives ${message.Attributes?.ApproximateReceiveCount ?? "?"})`;
    }),
  );
}
