import type { Sql } from "../../db/neon";
import { UnavailableError } from "../../errors";
import type { AdminAlert, AlertStatus, HealthEvent, HealthLevel, HealthMetadata } from "../model";
import type { AlertFailure, AlertOutbox, HealthEventFilter, HealthLog, NewAlert } from "../ports";

const EVENT_COLUMNS = "id, level, message, metadata, created_at";
const ALERT_COLUMNS = "id, health_event_id, dedup_key, level, text, status, attempts, next_attempt_at, created_at";
// Any stable number: the namespace of the per-dedup-key advisory locks.
const DEDUP_LOCK_SEED = 7_301;

function toEvent(row: Record<string, unknown>): HealthEvent {
  return {
    id: String(row.id),
    level: row.level as HealthLevel,
    message: String(row.message),
    metadata: (row.metadata ?? {}) as HealthMetadata,
    createdAt: new Date(row.created_at as string | Date),
  };
}

function toAlert(row: Record<string, unknown>): AdminAlert {
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

async function guarded<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new UnavailableError(`health log: ${what} failed`, { cause: error });
  }
}

/** system_health_logs and the admin_alerts outbox through Neon's HTTP driver. */
export class PostgresHealthLog implements HealthLog, AlertOutbox {
  constructor(private readonly sql: Sql) {}

  /**
   * One transaction: the event, then (for alerting levels) a per-key advisory lock and the alert
   * unless one with the same key is younger than the window. The lock serialises identical events
   * across containers, and under READ COMMITTED the insert's check sees a twin committed meanwhile.
   */
  record(event: HealthEvent, alert: NewAlert | null, dedupSeconds: number): Promise<AdminAlert | null> {
    return guarded("record", async () => {
      const sql = this.sql;
      const insertEvent = sql.query(`INSERT INTO system_health_logs (${EVENT_COLUMNS}) VALUES ($1, $2, $3, $4::jsonb, $5)`, [
        event.id,
        event.level,
        event.message,
        JSON.stringify(event.metadata),
        event.createdAt,
      ]);
      if (!alert) {
        await sql.transaction([insertEvent]);
        return null;
      }
      const results = await sql.transaction([
        insertEvent,
        sql.query("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [DEDUP_LOCK_SEED, alert.dedupKey]),
        sql.query(
          `INSERT INTO admin_alerts (id, health_event_id, dedup_key, level, text, status, next_attempt_at, created_at)
           SELECT $1, $2, $3, $4, $5, 'pending', $6, $6
           WHERE NOT EXISTS (
             SELECT 1 FROM admin_alerts WHERE dedup_key = $3 AND created_at > $6::timestamptz - make_interval(secs => $7)
           )
           RETURNING ${ALERT_COLUMNS}`,
          [alert.id, event.id, alert.dedupKey, event.level, alert.text, event.createdAt, dedupSeconds],
        ),
      ]);
      const row = results[2]?.[0];
      return row ? toAlert(row) : null;
    });
  }

  list(filter: HealthEventFilter): Promise<HealthEvent[]> {
    return guarded("list", async () => {
      const rows = await this.sql.query(
        `SELECT ${EVENT_COLUMNS} FROM system_health_logs
         WHERE ($1::text IS NULL OR level = $1) AND ($2::timestamptz IS NULL OR created_at >= $2)
         ORDER BY created_at DESC, id LIMIT $3`,
        [filter.level ?? null, filter.since ?? null, filter.limit],
      );
      return rows.map(toEvent);
    });
  }

  claim(id: string, now: Date, leaseMs: number): Promise<AdminAlert | null> {
    return guarded("claim", async () => {
      const rows = await this.sql.query(
        `UPDATE admin_alerts SET locked_until = $2::timestamptz + make_interval(secs => $3::double precision / 1000)
         WHERE id = $1 AND status = 'pending' AND (locked_until IS NULL OR locked_until <= $2)
         RETURNING ${ALERT_COLUMNS}`,
        [id, now, leaseMs],
      );
      return rows[0] ? toAlert(rows[0]) : null;
    });
  }

  claimDue(now: Date, limit: number, leaseMs: number): Promise<AdminAlert[]> {
    return guarded("claim due", async () => {
      const rows = await this.sql.query(
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
    });
  }

  markSent(id: string, now: Date): Promise<void> {
    return guarded("mark sent", async () => {
      await this.sql.query(`UPDATE admin_alerts SET status = 'sent', sent_at = $2, attempts = attempts + 1, locked_until = NULL, last_error = NULL WHERE id = $1`, [id, now]);
    });
  }

  markFailed(id: string, failure: AlertFailure): Promise<void> {
    return guarded("mark failed", async () => {
      const status = failure.kind === "give_up" ? "failed" : "pending";
      const counted = failure.kind === "postpone" ? 0 : 1;
      await this.sql.query(
        `UPDATE admin_alerts SET status = $2, attempts = attempts + $3, next_attempt_at = COALESCE($4, next_attempt_at),
           last_error = $5, locked_until = NULL
         WHERE id = $1`,
        [id, status, counted, failure.kind === "give_up" ? null : failure.at, failure.error.slice(0, 1_000)],
      );
    });
  }

  markSkipped(id: string, reason: string): Promise<void> {
    return guarded("mark skipped", async () => {
      await this.sql.query(`UPDATE admin_alerts SET status = 'skipped', last_error = $2, locked_until = NULL WHERE id = $1`, [id, reason]);
    });
  }
}
