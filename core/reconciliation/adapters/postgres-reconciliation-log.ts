import type { NeonQueryPromise } from "@neondatabase/serverless";
import type { Database, Row } from "../../db/database";
import type { OutboxEnqueue } from "../../outbox/ports";
import { RECENT_EVENTS } from "../model";
import type { PositionSide, ReconciliationEvent, ReconciliationHistory, ReconciliationKind, ReportedState } from "../model";
import type { ReconciliationLog } from "../ports";

/**
 * Everything the summary needs, in one statement: totals over the user's rows, divergences with no
 * later resolution (same exchange; same symbol and side unless the resolution leaves them out),
 * and the newest events (seq breaks ties within one instant).
 */
const HISTORY = `
WITH mine AS (
  SELECT id, seq, exchange, kind, symbol, side, expected, actual, created_at FROM reconciliation_logs WHERE user_id = $1
)
SELECT
  (SELECT count(*) FROM mine WHERE kind = 'sync')::int AS total_syncs,
  (SELECT max(created_at) FROM mine WHERE kind = 'sync') AS last_sync_at,
  (SELECT count(*) FROM mine d WHERE d.kind = 'divergence' AND NOT EXISTS (
     SELECT 1 FROM mine r
      WHERE r.kind = 'resolved' AND r.exchange = d.exchange
        AND (r.symbol IS NULL OR r.symbol = d.symbol) AND (r.side IS NULL OR r.side = d.side)
        AND (r.created_at, r.seq) > (d.created_at, d.seq)))::int AS divergences,
  (SELECT coalesce(json_agg(recent ORDER BY recent.created_at DESC, recent.seq DESC), '[]'::json) FROM (
     SELECT id, seq, exchange, kind, symbol, side, expected, actual, created_at FROM mine ORDER BY created_at DESC, seq DESC LIMIT $2
   ) recent) AS recent`;

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

function toState(value: unknown): ReportedState | null {
  return value && typeof value === "object" ? (value as ReportedState) : null;
}

function toEvent(userId: string, row: Row): ReconciliationEvent {
  return {
    id: String(row.id),
    userId,
    exchange: String(row.exchange),
    kind: row.kind as ReconciliationKind,
    symbol: typeof row.symbol === "string" ? row.symbol : null,
    side: row.side === "long" || row.side === "short" ? (row.side as PositionSide) : null,
    expected: toState(row.expected),
    actual: toState(row.actual),
    createdAt: toDate(row.created_at),
  };
}

/** reconciliation_logs through Neon's HTTP driver (core/db/database.ts bounds every call). */
export class PostgresReconciliationLog implements ReconciliationLog {
  constructor(
    private readonly db: Database,
    private readonly enqueue: OutboxEnqueue<NeonQueryPromise<false, false>>,
    /** Counts round trips (bench figures). */
    private readonly onQuery: () => void = () => undefined,
  ) {}

  async record(event: ReconciliationEvent, effects: Parameters<OutboxEnqueue<unknown>>[0]): Promise<void> {
    this.onQuery();
    await this.db.transaction(
      (tx) => [
        tx.query(
          `INSERT INTO reconciliation_logs (id, user_id, exchange, kind, symbol, side, expected, actual, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)`,
          [event.id, event.userId, event.exchange, event.kind, event.symbol, event.side, jsonOrNull(event.expected), jsonOrNull(event.actual), event.createdAt.toISOString()],
        ),
        ...(effects.length > 0 ? [this.enqueue(effects)] : []),
      ],
      "record reconciliation event",
    );
  }

  async history(userId: string): Promise<ReconciliationHistory> {
    this.onQuery();
    const [row] = await this.db.query(HISTORY, [userId, RECENT_EVENTS], "reconciliation history");
    const recent = (Array.isArray(row?.recent) ? row.recent : []) as Row[];
    return {
      totalSyncs: Number(row?.total_syncs ?? 0),
      divergencesDetected: Number(row?.divergences ?? 0),
      lastSyncAt: row?.last_sync_at ? toDate(row.last_sync_at) : null,
      recentEvents: recent.map((entry) => toEvent(userId, entry)),
    };
  }
}

function jsonOrNull(value: ReportedState | null): string | null {
  return value === null ? null : JSON.stringify(value);
}
