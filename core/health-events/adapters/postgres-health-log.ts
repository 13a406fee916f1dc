import type { Database, Row } from "../../db/database";
import type { AdminAlert, AlertStatus, HealthEvent, HealthLevel, HealthMetadata } from "../model";
import type { AlertFailure, AlertOutbox, HealthEventFilter, HealthLog, NewAlert } from "../ports";

const EVENT_COLUMNS = "id, level, message, metadata, created_at";
const ALERT_COLUMNS = "id, health_event_id, dedup_key, level, text, status, attempts, next_attempt_at, created_at";
// Any stable number: the namespace of the per-dedup-key advisory locks.
const DEDUP_LOCK_SEED = 7_301;

function toEvent(row: Row): HealthEvent {
  return {
    id: String(row.id),
    level: row.level as HealthLevel,
    message: String(row.message),
    metadata: (row.metadata ?? {}) as HealthMetadata,
    createdAt: new Date(row.created_at as string | Date),
  };
}

function toAlert(row: Row): AdminAlert {
  return {
    id: String(row.id),
    healthEventId: String(row.health_event_id),
    dedupKey: String(row.dedup_key),
    level: row.level as HealthLevel,
    text: String(row.text),
    status: row.status as AlertStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(row.next_attempt_at as string | Date),
    createdAt: new Date(row.created_at as string | Date),
  };
}

/** system_health_logs and the admin_alerts outbox, every call bounded (core/db/database.ts). */
export class PostgresHealthLog implements HealthLog, AlertOutbox {
  constructor(private readonly db: Database) {}

  /** One statement that writes, as a bounded transaction. */
  private async write(what: string, text: string, params: readonly unknown[]): Promise<Row[]> {
    const [rows] = await this.db.transaction((tx) => [tx.query(text, [...params])], `health log: ${what}`);
    return rows ?? [];
  }

  /**
   * One transaction: the event, then (for alerting levels) a per-key advisory lock and the alert
   * unless one with the same key is younger than the window. The lock serialises identical events
   * across containers, and under READ COMMITTED the insert's check sees a twin committed meanwhile.
   */
  async record(event: HealthEvent, alert: NewAlert | null, dedupSeconds: number): Promise<AdminAlert | null> {
    const results = await this.db.transaction(
      (tx) => [
        tx.query(`INSERT INTO system_health_logs (${EVENT_COLUMNS}) VALUES ($1, $2, $3, $4::jsonb, $5)`, [
          event.id,
          event.level,
          event.message,
          JSON.stringify(event.metadata),
          event.createdAt,
        ]),
        ...(alert
          ? [
              tx.query("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [DEDUP_LOCK_SEED, alert.dedupKey]),
              tx.query(
                `INSERT INTO admin_alerts (id, health_event_id, dedup_key, level, text, status, next_attempt_at, created_at)
                 SELECT $1, $2, $3, $4, $5, 'pending', $6, $6
                 WHERE NOT EXISTS (
                   SELECT 1 FROM admin_alerts WHERE dedup_key = $3 AND created_at > $6::timestamptz - make_interval(secs => $7)
                 )
                 RETURNING ${ALERT_COLUMNS}`,
                [alert.id, event.id, alert.dedupKey, event.level, alert.text, event.createdAt, dedupSeconds],
              ),
            ]
          : []),
      ],
      "health log: record",
    );
    const row = results[2]?.[0];
    return row ? toAlert(row) : null;
  }

  async list(filter: HealthEventFilter): Promise<HealthEvent[]> {
    const rows = await this.db.query(
        `SELECT ${EVENT_COLUMNS} FROM system_health_logs
         WHERE ($1::text IS NULL OR level = $1) AND ($2::timestamptz IS NULL OR created_at >= $2)
         ORDER BY created_at DESC, id LIMIT $3`,
        [filter.level ?? null, filter.since ?? null, filter.limit],
        "health log: list",
      );
    return rows.map(toEvent);
  }

  async claim(id: string, now: Date, leaseMs: number): Promise<AdminAlert | null> {
    const rows = await this.write(
      "claim",
      `UPDATE admin_alerts SET locked_until = $2::timestamptz + make_interval(secs => $3::double precision / 1000)
       WHERE id = $1 AND status = 'pending' AND (locked_until IS NULL OR locked_until <= $2)
       RETURNING ${ALERT_COLUMNS}`,
      [id, now, leaseMs],
    );
    return rows[0] ? toAlert(rows[0]) : null;
  }

  async claimDue(now: Date, limit: number, leaseMs: number): Promise<AdminAlert[]> {
    const rows = await this.write(
      "claim due",
      `UPDATE admin_alerts SET locked_until = $1::timestamptz + make_interval(secs => $3::double precision / 1000)
       WHERE id IN (
         SELECT id FROM admin_alerts
         WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       RETURNING ${ALERT_COLUMNS}`,
      [now, limit, leaseMs],
    );
    return rows.map(toAlert).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async markSent(id: string, now: Date): Promise<void> {
    await this.write("mark sent", `UPDATE admin_alerts SET status = 'sent', sent_at = $2, attempts = attempts + 1, locked_until = NULL, last_error = NULL WHERE id = $1`, [id, now]);
  }

  async markFailed(id: string, failure: AlertFailure): Promise<void> {
    await this.write(
      "mark failed",
      `UPDATE admin_alerts SET status = $2, attempts = attempts + $3, next_attempt_at = COALESCE($4, next_attempt_at),
         last_error = $5, locked_until = NULL
       WHERE id = $1`,
      [id, failure.kind === "give_up" ? "failed" : "pending", failure.kind === "postpone" ? 0 : 1, failure.kind === "give_up" ? null : failure.at, failure.error.slice(0, 1_000)],
    );
  }

  async markSkipped(id: string, reason: string): Promise<void> {
    await this.write("mark skipped", `UPDATE admin_alerts SET status = 'skipped', last_error = $2, locked_until = NULL WHERE id = $1`, [id, reason]);
  }
}
