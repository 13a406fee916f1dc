import type { NeonQueryPromise } from "@neondatabase/serverless";
import type { Database } from "../../db/database";
import type { OutboxEnqueue } from "../../outbox/ports";
import type { OutboxMessage } from "../../outbox/model";
import { guardStatuses } from "../model";
import type { EquitySnapshot, EquityWindow, GuardStatus } from "../model";
import type { EquityStore, RecordedEquity } from "../ports";

/** Peak since $3 (the new snapshot included when read in its transaction) and the stored status. */
const PEAK_AND_STATUS = `SELECT
  (SELECT max(equity) FROM equity_snapshots WHERE user_id = $1 AND exchange = $2 AND taken_at >= $3) AS peak,
  (SELECT status FROM guard_states WHERE user_id = $1 AND exchange = $2) AS status`;

/** The peak since $3 with the last time it was reached (it leaves the window then), and the latest snapshot. */
const WINDOW = `SELECT peak.equity AS peak, peak.taken_at AS peak_at, latest.equity AS current, latest.taken_at AS current_at
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT equity, taken_at FROM equity_snapshots WHERE user_id = $1 AND exchange = $2 AND taken_at >= $3 ORDER BY equity DESC, taken_at DESC LIMIT 1
) AS peak ON true
LEFT JOIN LATERAL (
  SELECT equity, taken_at FROM equity_snapshots WHERE user_id = $1 AND exchange = $2 ORDER BY taken_at DESC, seq DESC LIMIT 1
) AS latest ON true`;

/** Inserts the first status, or moves it only from the expected one: one winner per transition. */
const MOVE_STATUS = `INSERT INTO guard_states (user_id, exchange, status, changed_at) VALUES ($1, $2, $4, now())
ON CONFLICT (user_id, exchange) DO UPDATE SET status = EXCLUDED.status, changed_at = EXCLUDED.changed_at
  WHERE guard_states.status = $3::text
RETURNING status`;

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const dateOrNull = (value: unknown): Date | null => (value === null || value === undefined ? null : new Date(value as string | Date));
const statusOrNull = (value: unknown): GuardStatus | null => (guardStatuses.includes(value as GuardStatus) ? (value as GuardStatus) : null);

/** equity_snapshots and guard_states through Neon's HTTP driver (every call bounded). */
export class PostgresEquityStore implements EquityStore {
  constructor(
    private readonly db: Database,
    private readonly enqueue: OutboxEnqueue<NeonQueryPromise<false, false>>,
    private readonly onQuery: () => void = () => undefined,
  ) {}

  async record(snapshot: EquitySnapshot, since: Date, effects: readonly OutboxMessage[]): Promise<RecordedEquity> {
    this.onQuery();
    const results = await this.db.transaction(
      (tx) => [
        tx.query("INSERT INTO equity_snapshots (id, user_id, exchange, equity, taken_at) VALUES ($1, $2, $3, $4, $5)", [
          snapshot.id,
          snapshot.userId,
          snapshot.exchange,
          String(snapshot.equity),
          snapshot.takenAt.toISOString(),
        ]),
        ...(effects.length > 0 ? [this.enqueue(effects)] : []),
        tx.query(PEAK_AND_STATUS, [snapshot.userId, snapshot.exchange, since.toISOString()]),
      ],
      "record equity",
    );
    const row = results.at(-1)?.[0];
    return { peakEquity: Math.max(numberOrNull(row?.peak) ?? 0, snapshot.equity), previousStatus: statusOrNull(row?.status) };
  }

  async moveStatus(userId: string, exchange: string, from: GuardStatus | null, to: GuardStatus): Promise<boolean> {
    this.onQuery();
    const [rows = []] = await this.db.transaction((tx) => [tx.query(MOVE_STATUS, [userId, exchange, from, to])], "move guard status");
    return rows.length === 1;
  }

  async window(userId: string, exchange: string, since: Date): Promise<EquityWindow> {
    this.onQuery();
    const [row] = await this.db.query(WINDOW, [userId, exchange, since.toISOString()], "equity window");
    return {
      peakEquity: numberOrNull(row?.peak),
      peakAt: dateOrNull(row?.peak_at),
      currentEquity: numberOrNull(row?.current),
      currentAt: dateOrNull(row?.current_at),
    };
  }
}
