import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUE_OUTAGE_MESSAGE } from "../../core/provisioning/resilient-queue";
import { startFakeTelegramApi } from "../../local/fake-telegram-api";
import type { FakeTelegramApi } from "../../local/fake-telegram-api";
import { backgroundTasks } from "../../runtime/background";
import { call, countUsers, createUser, newPerson, startHarness } from "./support/harness";
import type { Harness, ProvisioningBody, UserBody } from "./support/harness";

let harness: Harness;
let telegram: FakeTelegramApi;

/** A port nothing listens on: connections are refused, as when SQS is unreachable. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  const port = await deadPort();
  telegram = await startFakeTelegramApi();
  harness = await startHarness({
    noQueue: true,
    env: {
      SQS_ENDPOINT: `http://127.0.0.1:${port}`,
      PROVISIONING_QUEUE_URL: `http://127.0.0.1:${port}/000000000000/ProvisioningQueue`,
      TELEGRAM_API_ROOT: telegram.root,
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_ADMIN_CHAT_ID: "-1001000000001",
    },
  });
});
afterAll(async () => {
  await harness?.close();
  await telegram?.close();
});

interface EventsBody {
  readonly events: readonly { level: string; message: string; metadata: Record<string, unknown> }[];
}

describe("SQS unreachable in async_queue", () => {
  it("creates every user synchronously (201), records one CRITICAL event and one alert", async () => {
    const mode = await call<{ mode: string }>(harness, "GET", "/v1/admin/system-mode", { token: harness.admin });
    expect(mode.body.mode).toBe("async_queue");
    const people = Array.from({ length: 20 }, () => newPerson());
    const keys = people.map(() => randomUUID());
    const answers = await Promise.all(people.map((person, index) => createUser(harness, keys[index] ?? "", person)));
    expect(answers.map((answer) => answer.status)).toEqual(people.map(() => 201));
    expect(new Set(answers.map((answer) => (answer.body as UserBody).id)).size).toBe(20);
    expect(await countUsers(harness, "telegram_id = ANY($1::bigint[])", [people.map((person) => person.telegramId)])).toBe(20);

    // The fallback settled each request's provisioning record too, and replays answer the 201.
    const { rows } = await harness.db.query<{ status: string }>("SELECT status FROM provisioning_requests");
    expect(rows.map((row) => row.status)).toEqual(people.map(() => "done"));
    const replay = await createUser(harness, keys[0] ?? "", people[0]);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");

    const events = await call<EventsBody>(harness, "GET", "/v1/admin/health-events?level=CRITICAL", { token: harness.admin });
    expect(events.body.events).toHaveLength(1);
    expect(events.body.events[0]).toMatchObject({ level: "CRITICAL", message: QUEUE_OUTAGE_MESSAGE });
    await backgroundTasks().settled();
    const alerts = await harness.db.query<{ status: string }>("SELECT status FROM admin_alerts");
    expect(alerts.rows).toEqual([{ status: "sent" }]);
    const messages = telegram.calls().filter((entry) => entry.method === "sendMessage");
    expect(messages).toHaveLength(1);
    expect(String(messages[0]?.params.text)).toContain(QUEUE_OUTAGE_MESSAGE);
  });

  it("keeps falling back while the queue stays down, without another CRITICAL event", async () => {
    const answer = await createUser(harness, randomUUID(), newPerson());
    expect(answer.status).toBe(201);
    const events = await call<EventsBody>(harness, "GET", "/v1/admin/health-events?level=CRITICAL", { token: harness.admin });
    expect(events.body.events).toHaveLength(1);
    const provisioning = await harness.db.query<{ id: string }>("SELECT id FROM provisioning_requests ORDER BY created_at DESC LIMIT 1");
    const state = await call<ProvisioningBody>(harness, "GET", `/v1/provisioning/${provisioning.rows[0]?.id}`, { token: harness.service });
    expect(state.body).toMatchObject({ status: "done", userId: (answer.body as UserBody).id });
  });
});
