import { randomUUID } from "node:crypto";
import { QUEUE_OUTAGE_MESSAGE } from "../../core/provisioning/resilient-queue";
import { backgroundTasks } from "../../runtime/background";
import { check } from "./checks";
import type { Check } from "./checks";
import { deliver, inBatches } from "./client";
import { people, setMode } from "./exactly-once";
import type { ProofWorld } from "./setup";

const COUNT = 100;

/**
 * SQS goes away (the emulator is stopped) while the mode is async_queue: every creation is made
 * synchronously (201), one CRITICAL event is recorded, and the admin chat gets one message.
 */
export async function proveQueueDown(world: ProofWorld): Promise<Check[]> {
  await setMode(world, "async_queue");
  await world.stopConsumers();
  await world.cloud.sqs.close();
  const since = new Date();
  world.telegram.clear();
  const creations = people(world, COUNT, 1_000_000);
  const answers = await inBatches(creations, 20, async (person) => {
    const key = randomUUID();
    const deliveries = await Promise.all([0, 1, 2].map(() => deliver(world.server.url, world.service, key, person)));
    return deliveries;
  });
  await backgroundTasks().settled();
  const statuses = answers.flat().map((delivery) => delivery.status);
  const created = answers.filter((deliveries) => deliveries.some((delivery) => delivery.status === 201) && new Set(deliveries.map((d) => String(d.body.id))).size === 1).length;
  const { rows: events } = await world.db.query<{ n: number }>("SELECT count(*)::int AS n FROM system_health_logs WHERE level = 'CRITICAL' AND created_at >= $1", [since]);
  const messages = world.telegram.calls().filter((entry) => entry.method === "sendMessage" && String(entry.params.text).includes(QUEUE_OUTAGE_MESSAGE));
  const { rows: users } = await world.db.query<{ n: number }>("SELECT count(*)::int AS n FROM app_users WHERE email LIKE $1", [`proof-${world.run}-1______@example.com`]);
  return [
    check("every creation made synchronously", statuses.every((status) => status === 201) && created === COUNT && users[0]?.n === COUNT, `${created}/${COUNT} created once (201 to each of 3 deliveries), ${users[0]?.n ?? 0} users`),
    check("one CRITICAL event", events[0]?.n === 1, `${events[0]?.n ?? 0} CRITICAL events`),
    check("one admin alert", messages.length === 1, `${messages.length} sendMessage call(s) about the outage`),
  ];
}
