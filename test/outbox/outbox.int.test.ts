import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import type { Sql } from "../../core/db/neon";
import { PostgresOutbox } from "../../core/outbox/adapters/postgres-outbox";
import { deliverCommitted, outboxBackoffMs } from "../../core/outbox/delivery";
import { STUCK_AFTER_ATTEMPTS, drainOutbox } from "../../core/outbox/drain";
import type { OutboxMessage } from "../../core/outbox/model";
import type { LogPort } from "../../core/observability/log-port";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";

let app: AppEnv;
let sql: Sql;
let db: pg.Client;
let store: PostgresOutbox;
const logged: { level: string; message: string }[] = [];
const log: LogPort = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => void logged.push({ level: "warn", message }),
  error: (message) => void logged.push({ level: "error", message }),
};

beforeAll(async () => {
  app = await useAppEnv();
  sql = createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY });
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
  store = new PostgresOutbox(new Database(sql), { writerGraceMs: 10_000 });
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
});

let topicCounter = 0;
/** A topic of its own per test, so tests never claim each other's rows. */
const freshTopic = () => `test.topic-${++topicCounter}-${randomUUID().slice(0, 8)}`;
const message = (topic: string, key: string, payload: Record<string, unknown> = {}): OutboxMessage => ({ id: randomUUID(), topic, key, payload });

async function rowsOf(topic: string) {
  const { rows } = await db.query<{ id: string; key: string; attempts: number; due_in_ms: number; last_error: string | null }>(
    `SELECT id, key, attempts, (extract(epoch FROM next_attempt_at - now()) * 1000)::int AS due_in_ms, last_error
     FROM outbox WHERE topic = $1 ORDER BY created_at`,
    [topic],
  );
  return rows;
}

/** Makes every row of the topic due now (instead of waiting out the grace period or a backoff). */
const makeDue = (topic: string) => db.query(`UPDATE outbox SET next_attempt_at = now() - interval '1 second' WHERE topic = $1`, [topic]);

describe("enqueue", () => {
  it("commits the rows with the change they belong to, in one transaction", async () => {
    const topic = freshTopic();
    const messages = [message(topic, "a", { n: 1 }), message(topic, "b", { text: `quote " brace { } comma ,` })];
    await sql.transaction([sql.query("CREATE TABLE IF NOT EXISTS outbox_probe (id uuid PRIMARY KEY)"), store.enqueue(messages)]);
    const rows = await rowsOf(topic);
    expect(rows.map((row) => row.id)).toEqual(messages.map((m) => m.id));
    // The writer's grace period: a drain may not claim them yet.
    for (const row of rows) expect(row.due_in_ms).toBeGreaterThan(8_000);
    const { rows: payloads } = await db.query<{ payload: unknown }>(`SELECT payload FROM outbox WHERE id = $1`, [messages[1]?.id]);
    expect(payloads[0]?.payload).toEqual({ text: `quote " brace { } comma ,` });
  });

  it("rolls the rows back when the change fails", async () => {
    const topic = freshTopic();
    await expect(sql.transaction([store.enqueue([message(topic, "a")]), sql.query("SELECT 1 / 0")])).rejects.toMatchObject({ code: "22012" });
    expect(await rowsOf(topic)).toEqual([]);
  });
});

describe("deliverCommitted (the writer, right after its commit)", () => {
  it("delivers and deletes the rows", async () => {
    const topic = freshTopic();
    const messages = [message(topic, "k1"), message(topic, "k2")];
    await sql.transaction([store.enqueue(messages)]);
    const seen: string[] = [];
    const outcome = await deliverCommitted({ store, log }, messages, { [topic]: async (m) => void seen.push(m.id) });
    expect(new Set(outcome.delivered)).toEqual(new Set(messages.map((m) => m.id)));
    expect(new Set(seen)).toEqual(new Set(messages.map((m) => m.id)));
    expect(await rowsOf(topic)).toEqual([]);
  });

  it("leaves a failed delivery (and what waits behind it on the same key) for a drain, due after the first backoff step", async () => {
    const topic = freshTopic();
    const first = message(topic, "same", { step: 1 });
    const second = message(topic, "same", { step: 2 });
    const other = message(topic, "other");
    await sql.transaction([store.enqueue([first, second, other])]);
    const seen: unknown[] = [];
    const outcome = await deliverCommitted({ store, log }, [first, second, other], {
      [topic]: async (m) => {
        if (m.id === first.id) throw new Error("redis is down");
        seen.push(m.payload);
      },
    });
    expect(outcome.delivered).toEqual([other.id]);
    expect(outcome.failed.map((failure) => failure.message.id)).toEqual([first.id]);
    expect(seen).toEqual([{}]);
    const rows = await rowsOf(topic);
    expect(rows.map((row) => row.id)).toEqual([first.id, second.id]);
    for (const row of rows) {
      expect(row.due_in_ms).toBeLessThanOrEqual(outboxBackoffMs(1));
      expect(row.due_in_ms).toBeGreaterThan(0);
    }
    expect(rows[0]?.last_error).toBe("redis is down");
  });
});

describe("drainOutbox", () => {
  it("claims only due rows of its topics and delivers each key's rows in order", async () => {
    const topic = freshTopic();
    const foreign = freshTopic();
    const ordered = [1, 2, 3].map((step) => message(topic, "user-1", { step }));
    for (const m of ordered) await sql.transaction([store.enqueue([m])]);
    await sql.transaction([store.enqueue([message(topic, "user-2", { step: 1 }), message(foreign, "x")])]);

    const notYet = await drainOutbox({ store, log }, { handlers: { [topic]: async () => undefined }, limit: 10 });
    expect(notYet.claimed).toBe(0);

    await makeDue(topic);
    await makeDue(foreign);
    const seen: { key: string; step: unknown }[] = [];
    const report = await drainOutbox({ store, log }, { handlers: { [topic]: async (m) => void seen.push({ key: m.key, step: m.payload.step }) }, limit: 10 });
    expect(report).toEqual({ claimed: 4, delivered: 4, postponed: 0, stuck: 0 });
    expect(seen.filter((entry) => entry.key === "user-1").map((entry) => entry.step)).toEqual([1, 2, 3]);
    expect(await rowsOf(topic)).toEqual([]);
    expect(await rowsOf(foreign)).toHaveLength(1);
  });

  it("delivers every row exactly once when drains run at the same time", async () => {
    const topic = freshTopic();
    const messages = Array.from({ length: 60 }, (_, i) => message(topic, `key-${i % 20}`, { i }));
    await sql.transaction([store.enqueue(messages)]);
    await makeDue(topic);
    const deliveries = new Map<string, number>();
    const handlers = {
      [topic]: async (m: OutboxMessage) => {
        deliveries.set(m.id, (deliveries.get(m.id) ?? 0) + 1);
      },
    };
    const reports = await Promise.all([1, 2, 3].map(() => drainOutbox({ store, log }, { handlers, limit: 7, batches: 100 })));
    expect(reports.reduce((sum, r) => sum + r.delivered, 0)).toBe(60);
    expect(deliveries.size).toBe(60);
    expect([...deliveries.values()].every((count) => count === 1)).toBe(true);
    expect(await rowsOf(topic)).toEqual([]);
  });

  it("backs off exponentially, never drops a row, and reports rows that keep failing", async () => {
    const topic = freshTopic();
    const m = message(topic, "k");
    await sql.transaction([store.enqueue([m])]);
    const failing = { [topic]: async () => Promise.reject(new Error("still down")) };
    for (let attempt = 1; attempt <= 3; attempt++) {
      await makeDue(topic);
      const report = await drainOutbox({ store, log }, { handlers: failing, limit: 10 });
      expect(report).toMatchObject({ claimed: 1, delivered: 0, postponed: 1 });
      const [row] = await rowsOf(topic);
      expect(row?.attempts).toBe(attempt);
      expect(row?.due_in_ms).toBeGreaterThan(outboxBackoffMs(attempt) - 1_000);
      expect(row?.due_in_ms).toBeLessThanOrEqual(outboxBackoffMs(attempt));
    }
    await db.query(`UPDATE outbox SET attempts = $2 WHERE id = $1`, [m.id, STUCK_AFTER_ATTEMPTS]);
    await makeDue(topic);
    logged.length = 0;
    const stuck = await drainOutbox({ store, log }, { handlers: failing, limit: 10 });
    expect(stuck.stuck).toBe(1);
    expect(logged).toContainEqual({ level: "error", message: "outbox row keeps failing" });
    expect(await rowsOf(topic)).toHaveLength(1);

    await makeDue(topic);
    const healed = await drainOutbox({ store, log }, { handlers: { [topic]: async () => undefined }, limit: 10 });
    expect(healed.delivered).toBe(1);
    expect(await rowsOf(topic)).toEqual([]);
  });

  it("hides claimed rows from other drains until the lease expires", async () => {
    const topic = freshTopic();
    await sql.transaction([store.enqueue([message(topic, "k")])]);
    await makeDue(topic);
    const claimed = await store.claimDue([topic], 10, 60_000);
    expect(claimed).toHaveLength(1);
    expect(await store.claimDue([topic], 10, 60_000)).toEqual([]);
    expect(await store.backlog([topic])).toMatchObject({ pending: 1 });
  });
});
