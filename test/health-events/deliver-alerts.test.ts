import { describe, expect, it } from "vitest";
import { deliverAlert, deliverDueAlerts, defaultAlertDeliveryOptions } from "../../core/health-events/deliver-alerts";
import type { AlertDeliveryDeps } from "../../core/health-events/deliver-alerts";
import type { AdminAlert } from "../../core/health-events/model";
import type { AdminChat, AlertFailure, AlertOutbox, ChatSendResult } from "../../core/health-events/ports";
import { silentLog } from "../../core/observability/log-port";

class MemoryOutbox implements AlertOutbox {
  readonly rows = new Map<string, AdminAlert & { lockedUntil: number; lastError?: string }>();
  add(id: string, attempts = 0, nextAttemptAt = 0): void {
    this.rows.set(id, { id, healthEventId: "e", dedupKey: id, level: "CRITICAL", text: id, status: "pending", attempts, nextAttemptAt: new Date(nextAttemptAt), createdAt: new Date(this.rows.size), lockedUntil: 0 });
  }
  async claim(id: string, now: Date, leaseMs: number) {
    const row = this.rows.get(id);
    if (!row || row.status !== "pending" || row.lockedUntil > now.getTime()) return null;
    row.lockedUntil = now.getTime() + leaseMs;
    return row;
  }
  async claimDue(now: Date, limit: number, leaseMs: number) {
    const due = [...this.rows.values()].filter((row) => row.status === "pending" && row.nextAttemptAt <= now && row.lockedUntil <= now.getTime()).slice(0, limit);
    for (const row of due) row.lockedUntil = now.getTime() + leaseMs;
    return due;
  }
  async markSent(id: string) {
    this.update(id, { status: "sent", attempts: (this.rows.get(id)?.attempts ?? 0) + 1 });
  }
  async markFailed(id: string, failure: AlertFailure) {
    const row = this.rows.get(id);
    this.update(id, {
      status: failure.kind === "give_up" ? "failed" : "pending",
      attempts: (row?.attempts ?? 0) + (failure.kind === "postpone" ? 0 : 1),
      ...(failure.kind === "give_up" ? {} : { nextAttemptAt: failure.at }),
      lastError: failure.error,
    });
  }
  async markSkipped(id: string) {
    this.update(id, { status: "skipped" });
  }
  private update(id: string, patch: Partial<AdminAlert & { lastError: string }>): void {
    const row = this.rows.get(id);
    if (row) this.rows.set(id, { ...row, ...patch, lockedUntil: 0 });
  }
}

class ScriptedChat implements AdminChat {
  readonly sent: string[] = [];
  constructor(
    private readonly script: ChatSendResult[],
    readonly configured = true,
  ) {}
  async send(text: string): Promise<ChatSendResult> {
    const next = this.script.shift() ?? { kind: "sent" };
    if (next.kind === "sent") this.sent.push(text);
    return next;
  }
}

function deps(chat: AdminChat, outbox = new MemoryOutbox(), now = 1_000_000) {
  const slept: number[] = [];
  const value: AlertDeliveryDeps = {
    outbox,
    chat,
    clock: { now: () => new Date(now) },
    logger: silentLog,
    sleep: async (ms) => void slept.push(ms),
    delivery: defaultAlertDeliveryOptions,
  };
  return { deps: value, outbox, slept };
}

describe("alert delivery", () => {
  it("waits out a short 429 in place and then sends", async () => {
    const chat = new ScriptedChat([{ kind: "rate_limited", retryAfterSeconds: 2 }]);
    const { deps: d, outbox, slept } = deps(chat);
    outbox.add("a");
    expect(await deliverAlert(d, "a")).toBe("sent");
    expect(slept).toEqual([2_000]);
    expect(outbox.rows.get("a")?.status).toBe("sent");
  });

  it("leaves a long 429 to the cron, not before retry_after, and holds back the rest of the batch as long", async () => {
    const chat = new ScriptedChat([{ kind: "rate_limited", retryAfterSeconds: 40 }]);
    const { deps: d, outbox, slept } = deps(chat, new MemoryOutbox(), 1_000_000);
    outbox.add("a");
    outbox.add("b");
    const report = await deliverDueAlerts(d, { limit: 10 });
    expect(report).toEqual({ sent: 0, retry: 2, failed: 0, skipped: 0 });
    expect(slept).toEqual([]);
    expect(outbox.rows.get("a")).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: new Date(1_040_000) });
    expect(outbox.rows.get("b")).toMatchObject({ status: "pending", attempts: 0, nextAttemptAt: new Date(1_040_000) });
    // Not due yet: a run now sends nothing.
    expect(await deliverDueAlerts(d, { limit: 10 })).toEqual({ sent: 0, retry: 0, failed: 0, skipped: 0 });
    expect(chat.sent).toEqual([]);
  });

  it("backs off transient failures and gives up after the last attempt or a permanent refusal", async () => {
    const transient = deps(new ScriptedChat([{ kind: "failed", retryable: true, reason: "502" }]));
    transient.outbox.add("a");
    expect(await deliverAlert(transient.deps, "a")).toBe("retry");
    expect(transient.outbox.rows.get("a")).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: new Date(1_060_000) });

    const last = deps(new ScriptedChat([{ kind: "failed", retryable: true, reason: "502" }]));
    last.outbox.add("a", defaultAlertDeliveryOptions.maxAttempts - 1);
    expect(await deliverAlert(last.deps, "a")).toBe("failed");

    const refused = deps(new ScriptedChat([{ kind: "failed", retryable: false, reason: "400 chat not found" }]));
    refused.outbox.add("a");
    expect(await deliverAlert(refused.deps, "a")).toBe("failed");
  });

  it("skips when no chat is configured, and never sends an alert another sender holds", async () => {
    const unconfigured = deps(new ScriptedChat([], false));
    unconfigured.outbox.add("a");
    expect(await deliverAlert(unconfigured.deps, "a")).toBe("skipped");

    const chat = new ScriptedChat([]);
    const held = deps(chat);
    held.outbox.add("a");
    await held.outbox.claim("a", new Date(1_000_000), 30_000);
    expect(await deliverAlert(held.deps, "a")).toBe("not_claimed");
    expect(chat.sent).toEqual([]);
  });

  it("never throws: a dead outbox leaves the alert to the cron", async () => {
    const { deps: d } = deps(new ScriptedChat([]));
    const broken = { ...d, outbox: { ...d.outbox, claim: () => Promise.reject(new Error("db down")) } as AlertOutbox };
    expect(await deliverAlert(broken, "a")).toBe("retry");
  });
});
