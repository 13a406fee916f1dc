import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { recordHealthEvent } from "../../core/health-events/record-health-event";
import { handler as retryAlerts } from "../../functions/health-events-alerts-cron";
import { startFakeTelegramApi } from "../../local/fake-telegram-api";
import type { FakeTelegramApi, RecordedCall } from "../../local/fake-telegram-api";
import { backgroundTasks } from "../../runtime/background";
import { healthEvents } from "../../runtime/health-events";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";

const ADMIN_CHAT = "-1001000000001";
let telegram: FakeTelegramApi;
let harness: Harness;

beforeAll(async () => {
  telegram = await startFakeTelegramApi();
  harness = await startHarness({
    noQueue: true,
    env: {
      TELEGRAM_API_ROOT: telegram.root,
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_ADMIN_CHAT_ID: ADMIN_CHAT,
      PROVISIONING_QUEUE_URL: "http://127.0.0.1:9/000000000000/Unused",
    },
  });
});
afterAll(async () => {
  await harness?.close();
  await telegram?.close();
});
beforeEach(async () => {
  await backgroundTasks().settled();
  telegram.clear();
});

/** What the fake Bot API received, read the way any process would: GET {root}/_recorded. */
async function sentMessages(): Promise<RecordedCall[]> {
  await backgroundTasks().settled();
  const calls = (await (await fetch(`${telegram.root}/_recorded`)).json()) as RecordedCall[];
  return calls.filter((entry) => entry.method === "sendMessage");
}

const record = (level: "INFO" | "CRITICAL" | "ERROR", message: string, metadata?: Record<string, unknown>) =>
  recordHealthEvent(healthEvents(), { level, message, ...(metadata ? { metadata } : {}) });

const alertRow = async (message: string) =>
  (
    await harness.db.query<{ id: string; status: string; attempts: number; next_attempt_at: Date }>(
      "SELECT a.id, a.status, a.attempts, a.next_attempt_at FROM admin_alerts a JOIN system_health_logs e ON e.id = a.health_event_id WHERE e.message = $1",
      [message],
    )
  ).rows;

describe("admin alerts through the Bot API", () => {
  it("sends a CRITICAL event to the admin chat as escaped HTML, and nothing for INFO", async () => {
    await record("CRITICAL", "Queue <down> & out", { apiKey: "secret-value", region: "eu" });
    await record("INFO", "all good");
    const sent = await sentMessages();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.params).toMatchObject({ chat_id: ADMIN_CHAT, parse_mode: "HTML" });
    const text = String(sent[0]?.params.text);
    expect(text).toContain("<b>CRITICAL</b>");
    expect(text).toContain("Queue &lt;down&gt; &amp; out");
    expect(text).toContain("apiKey: [redacted]");
    expect(text).not.toContain("secret-value");
    expect(await alertRow("Queue <down> & out")).toEqual([expect.objectContaining({ status: "sent", attempts: 1 })]);
  });

  it("sends one message for identical events within the window, however many and however concurrent", async () => {
    await Promise.all(Array.from({ length: 8 }, (_, index) => record("CRITICAL", "Repeated outage", { attempt: index })));
    await record("CRITICAL", "Another outage");
    // Alerts go out as background tasks: the two messages may arrive in either order.
    const sent = await sentMessages();
    expect(sent).toHaveLength(2);
    expect(sent.filter((entry) => String(entry.params.text).includes("Repeated outage"))).toHaveLength(1);
    const { rows } = await harness.db.query("SELECT count(*)::int AS n FROM system_health_logs WHERE message = 'Repeated outage'");
    expect(rows[0]?.n).toBe(8);
  });

  it("fits a huge event into one valid message of at most 4096 characters", async () => {
    await record("CRITICAL", `Huge ${"<&>".repeat(3_000)}`);
    const sent = await sentMessages();
    expect(sent).toHaveLength(1);
    expect(String(sent[0]?.params.text).length).toBeLessThanOrEqual(4_096);
    const { rows } = await harness.db.query("SELECT a.status FROM admin_alerts a JOIN system_health_logs e ON e.id = a.health_event_id WHERE e.message LIKE 'Huge %'");
    expect(rows).toEqual([{ status: "sent" }]);
  });

  it("alerts a mode switch, and a Telegram failure never fails the switch; the cron delivers later", async () => {
    telegram.fail({ method: "sendMessage", errorCode: 500, times: 1 });
    const put = await call<{ version: number }>(harness, "PUT", "/v1/admin/system-mode", { token: harness.admin, body: { mode: "sync_direct", reason: "drill" } });
    expect(put.status).toBe(200);
    const message = `System mode switched from async_queue to sync_direct (version ${put.body.version})`;
    expect(await sentMessages()).toHaveLength(1);
    const [pending] = await alertRow(message);
    expect(pending).toMatchObject({ status: "pending", attempts: 1 });

    // Not due yet (backoff): the cron leaves it.
    expect(await retryAlerts()).toMatchObject({ sent: 0 });
    // Due a second ago: the cron compares with its own clock in whole milliseconds, so "now()" (in
    // microseconds) could still be ahead of it when the two run within the same millisecond.
    await harness.db.query("UPDATE admin_alerts SET next_attempt_at = now() - interval '1 second' WHERE id = $1", [pending?.id]);
    expect(await retryAlerts()).toMatchObject({ sent: 1 });
    const sent = await sentMessages();
    expect(sent).toHaveLength(2);
    expect(String(sent[1]?.params.text)).toContain("<b>SWITCH</b>");
    expect((await alertRow(message))[0]?.status).toBe("sent");
  });

  it("honours 429 retry_after: a short wait in place, a long one left to the cron until it is due", async () => {
    telegram.fail({ method: "sendMessage", retryAfter: 1 });
    await record("CRITICAL", "Short rate limit");
    const short = await sentMessages();
    expect(short).toHaveLength(2);
    expect(Date.parse(short[1]?.at ?? "") - Date.parse(short[0]?.at ?? "")).toBeGreaterThanOrEqual(950);
    expect((await alertRow("Short rate limit"))[0]?.status).toBe("sent");

    telegram.clear();
    telegram.fail({ method: "sendMessage", retryAfter: 30 });
    const before = Date.now();
    await record("CRITICAL", "Long rate limit");
    await backgroundTasks().settled();
    const [row] = await alertRow("Long rate limit");
    expect(row?.status).toBe("pending");
    expect(row?.next_attempt_at.getTime()).toBeGreaterThanOrEqual(before + 29_000);
    expect(await retryAlerts()).toMatchObject({ sent: 0 });
    expect(await sentMessages()).toHaveLength(1);
  });
});

describe("GET /v1/admin/health-events", () => {
  it("lists events newest first, filtered by level, since and limit, for admins only", async () => {
    const since = new Date().toISOString();
    await record("ERROR", "first error");
    await record("ERROR", "second error");
    await record("INFO", "an info");
    const errors = await call<{ events: { message: string; level: string }[] }>(
      harness,
      "GET",
      `/v1/admin/health-events?level=ERROR&since=${encodeURIComponent(since)}`,
      { token: harness.admin },
    );
    expect(errors.status).toBe(200);
    expect(errors.body.events.map((event) => event.message)).toEqual(["second error", "first error"]);
    const one = await call<{ events: unknown[] }>(harness, "GET", "/v1/admin/health-events?limit=1", { token: harness.admin });
    expect(one.body.events).toHaveLength(1);
    const bad = await call<{ error: { fields: { field: string }[] } }>(harness, "GET", "/v1/admin/health-events?level=LOUD&limit=0&since=yesterday", { token: harness.admin });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((field) => field.field).sort()).toEqual(["query.level", "query.limit", "query.since"]);
    expect((await call(harness, "GET", "/v1/admin/health-events", { token: harness.service })).status).toBe(403);
  });
});
