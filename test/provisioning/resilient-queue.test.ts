import { describe, expect, it } from "vitest";
import type { HealthEventInput } from "../../core/health-events/model";
import type { ProvisioningMessage } from "../../core/provisioning/model";
import { QUEUE_OUTAGE_MESSAGE, QUEUE_RECOVERED_MESSAGE, ResilientProvisioningQueue } from "../../core/provisioning/resilient-queue";
import { UnavailableError } from "../../core/errors";

const message: ProvisioningMessage = {
  provisioningId: "00000000-0000-4000-8000-000000000001",
  idempotencyKey: "k",
  request: { email: "a@example.com", telegramId: "1", okxUid: null, plan: null, displayName: null },
};

function setup(resetTimeoutMs = 60_000) {
  const events: HealthEventInput[] = [];
  const inner = { down: false, sent: 0, send: async () => {} };
  inner.send = async () => {
    if (inner.down) throw new Error("ECONNREFUSED");
    inner.sent += 1;
  };
  const queue = new ResilientProvisioningQueue(inner, async (input) => (events.push(input), null), { timeoutMs: 1_000, resetTimeoutMs });
  return { events, inner, queue };
}

describe("ResilientProvisioningQueue", () => {
  it("records one CRITICAL event per outage however many sends fail, concurrently or not, and fails fast while open", async () => {
    const { events, inner, queue } = setup();
    inner.down = true;
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => queue.send(message)));
    expect(results.every((result) => result.status === "rejected" && result.reason instanceof UnavailableError)).toBe(true);
    await expect(queue.send(message)).rejects.toBeInstanceOf(UnavailableError);
    expect(events).toEqual([expect.objectContaining({ level: "CRITICAL", message: QUEUE_OUTAGE_MESSAGE })]);
    // Open: the inner queue is not even tried.
    inner.down = false;
    await expect(queue.send(message)).rejects.toBeInstanceOf(UnavailableError);
    expect(inner.sent).toBe(0);
  });

  it("records INFO when a trial send after the reset timeout works, and CRITICAL again on the next outage", async () => {
    const { events, inner, queue } = setup(50);
    inner.down = true;
    await expect(queue.send(message)).rejects.toBeInstanceOf(UnavailableError);
    inner.down = false;
    await expect.poll(async () => queue.send(message).then(() => true, () => false), { timeout: 2_000, interval: 20 }).toBe(true);
    expect(events.map((event) => event.message)).toEqual([QUEUE_OUTAGE_MESSAGE, QUEUE_RECOVERED_MESSAGE]);
    inner.down = true;
    await expect(queue.send(message)).rejects.toBeInstanceOf(UnavailableError);
    expect(events.map((event) => event.level)).toEqual(["CRITICAL", "INFO", "CRITICAL"]);
  });
});
