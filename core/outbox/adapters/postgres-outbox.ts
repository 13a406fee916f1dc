import type { NeonQueryPromise } from "@neondatabase/serverless";
import type { Database } from "../../db/database";
import { OUTBOX_TOPIC } from "../model";
import type { OutboxMessage, OutboxRow } from "../model";
import type { OutboxBacklog, OutboxStore } from "../ports";

export interface PostgresOutboxOptions {
  /**
   * How long a new row is left to its writer before a drain may claim it: the writer delivers
   * right after its commit, so a drain running at that moment would only deliver twice.
   */
  readonly writerGraceMs: number;
}

export const defaultOutboxOptions: PostgresOutboxOptions = { writerGraceMs: 10_000 };

const COLUMNS = "id, topic, key, payload, created_at, attempts, next_attempt_at, last_error";

function toRow(row: Record<string, unknown>): OutboxRow {
  return {
    id: String(row.id),
    topic: String(row.topic),
    key: String(row.key),
    payload: (row.payload ?? {}) as Record<string, unknown>,
    createdAt: new Date(row.created_at as string | Date),
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(row.next_attempt_at as string | Date),
    lastError: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
  };
}

/** The outbox table through Neon's HTTP driver, every call bounded (core/db/database.ts). */
export class PostgresOutbox implements OutboxStore {
  constructor(
    private readonly db: Database,
    private readonly options: PostgresOutboxOptions = defaultOutboxOptions,
  ) {}

  /**
   * The INSERT of these messages, to put in the writer's own `sql.transaction([...])` so that the
   * rows commit (or roll back) with the change they describe. One statement for any number of rows.
   */
  enqueue(messages: readonly OutboxMessage[]): NeonQueryPromise<false, false> {
    for (const message of messages) {
      if (!OUTBOX_TOPIC.test(message.topic)) throw new Error(`invalid outbox topic: ${message.topic}`);
    }
    return this.db.sql.query(
      `INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
       SELECT (m->>'id')::uuid, m->>'topic', m->>'key', m->'payload', now() + $2::int * interval '1 millisecond'
       FROM jsonb_array_elements($1::jsonb) AS m`,
      [JSON.stringify(messages.map(({ id, topic, key, payload }) => ({ id, topic, key, payload }))), this.options.writerGraceMs],
    );
  }

  async claimDue(topics: readonly string[], limit: number, leaseMs: number): Promise<OutboxRow[]> {
    const [rows = []] = await this.db.transaction(
      (tx) => [
        tx.query(
        `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = now() + $3::int * interval '1 millisecond'
         WHERE id IN (
           SELECT id FROM outbox WHERE next_attempt_at <= now() AND topic = ANY($1::text[])
           ORDER BY next_attempt_at, created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING ${COLUMNS}`,
        [[...topics], limit, leaseMs],
        ),
      ],
      "claim outbox rows",
    );
    return rows.map(toRow);
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.transaction((tx) => [tx.query(`DELETE FROM outbox WHERE id = ANY($1::uuid[])`, [[...ids]])], "delete delivered outbox rows");
  }

  async retryLater(id: string, delayMs: number, reason: string): Promise<void> {
    await this.db.transaction(
      (tx) => [
        tx.query(`UPDATE outbox SET next_attempt_at = now() + $2::int * interval '1 millisecond', last_error = left($3, 500) WHERE id = $1`, [
          id,
          Math.round(delayMs),
          reason,
        ]),
      ],
      "reschedule an outbox row",
    );
  }

  async backlog(topics: readonly string[]): Promise<OutboxBacklog> {
    const [row] = await this.db.query(`SELECT count(*)::int AS pending, min(created_at) AS oldest FROM outbox WHERE topic = ANY($1::text[])`, [[...topics]], "count outbox rows");
    return { pending: Number(row?.pending ?? 0), oldestCreatedAt: row?.oldest ? new Date(row.oldest as string) : null };
  }

  /** Undelivered rows of one topic, oldest first, due or not (readers that must not trust what they owe). */
  async listPending(topic: string, limit: number): Promise<OutboxRow[]> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM outbox WHERE topic = $1 ORDER BY created_at LIMIT $2`, [topic, limit], "list pending outbox rows");
    return rows.map(toRow);
  }

  /** Rows of one topic and key (tests, ops). */
  async pendingFor(topic: string, key: string): Promise<OutboxRow[]> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM outbox WHERE topic = $1 AND key = $2 ORDER BY created_at`, [topic, key], "read outbox rows");
    return rows.map(toRow);
  }
}
