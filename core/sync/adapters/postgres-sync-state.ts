import type { Database, Row } from "../../db/database";
import type { SyncPosition, SyncState } from "../model";
import type { SyncStateStore } from "../ports";

const COLUMNS = "pattern_index, scan_cursor, pass_started_at, completed_pass_started_at, completed_pass_at";

function toState(row: Row): SyncState {
  const date = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string | Date));
  return {
    patternIndex: Number(row.pattern_index),
    cursor: String(row.scan_cursor),
    passStartedAt: date(row.pass_started_at),
    completedPassStartedAt: date(row.completed_pass_started_at),
    completedPassAt: date(row.completed_pass_at),
  };
}

/**
 * Cursor and lease of each source in `sync_state` (migration 0018). The lease is a row lock that
 * outlives a statement: taken only when free, expired or already ours, extended by every cursor
 * save, and checked by it (a save that finds another owner tells the run to stop). Times come from
 * the database clock, the one clock every container shares.
 */
export class PostgresSyncStateStore implements SyncStateStore {
  constructor(private readonly db: Database) {}

  async read(source: string): Promise<SyncState | null> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM sync_state WHERE source = $1`, [source], "sync state read");
    return rows[0] ? toState(rows[0]) : null;
  }

  async acquire(source: string, owner: string, leaseMs: number): Promise<SyncState | null> {
    const [rows] = await this.db.transaction(
      (sql) => [
        sql.query(
          `INSERT INTO sync_state (source, lease_owner, lease_until) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
           ON CONFLICT (source) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until, updated_at = now()
           WHERE sync_state.lease_owner IS NULL OR sync_state.lease_until < now() OR sync_state.lease_owner = EXCLUDED.lease_owner
           RETURNING ${COLUMNS}`,
          [source, owner, leaseMs],
        ),
      ],
      "sync lock",
    );
    return rows?.[0] ? toState(rows[0]) : null;
  }

  async save(source: string, owner: string, position: SyncPosition, passStartedAt: Date, leaseMs: number): Promise<boolean> {
    return this.update(
      `pattern_index = $3, scan_cursor = $4, pass_started_at = $5, lease_until = now() + $6 * interval '1 millisecond'`,
      [source, owner, position.patternIndex, position.cursor, passStartedAt, leaseMs],
    );
  }

  async completePass(source: string, owner: string, passStartedAt: Date, leaseMs: number): Promise<boolean> {
    return this.update(
      `pattern_index = 0, scan_cursor = '0', pass_started_at = NULL, completed_pass_started_at = $3, completed_pass_at = now(),
       lease_until = now() + $4 * interval '1 millisecond'`,
      [source, owner, passStartedAt, leaseMs],
    );
  }

  async release(source: string, owner: string): Promise<void> {
    await this.update("lease_owner = NULL, lease_until = NULL", [source, owner]);
  }

  /** Changes the row only while this owner holds an unexpired lease. */
  private async update(assignments: string, params: readonly unknown[]): Promise<boolean> {
    const [rows] = await this.db.transaction(
      (sql) => [
        sql.query(
          `UPDATE sync_state SET ${assignments}, updated_at = now()
           WHERE source = $1 AND lease_owner = $2 AND lease_until >= now() RETURNING source`,
          [...params],
        ),
      ],
      "sync state save",
    );
    return (rows?.length ?? 0) > 0;
  }
}
