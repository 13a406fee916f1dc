import type { Database, Row } from "../../db/database";
import type { SystemMode } from "../model";
import type { ModeChange, SystemModeSetting, SystemModeStore } from "../ports";

const KEY = "system_mode";
const COLUMNS = "value, version, reason, updated_by, updated_at";
const MISSING = "system_config has no system_mode row (migration 0033 not applied?)";

function toSetting(row: Row | undefined): SystemModeSetting {
  if (!row) throw new Error(MISSING);
  return {
    mode: row.value as SystemMode,
    version: Number(row.version),
    reason: row.reason === null ? null : String(row.reason),
    updatedBy: row.updated_by === null ? null : String(row.updated_by),
    updatedAt: new Date(row.updated_at as string | Date),
  };
}

/** The system_mode row of system_config, every call bounded (core/db/database.ts). */
export class PostgresSystemModeStore implements SystemModeStore {
  constructor(
    private readonly db: Database,
    private readonly onQuery: () => void = () => undefined,
  ) {}

  async read(): Promise<SystemModeSetting> {
    this.onQuery();
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM system_config WHERE key = $1`, [KEY], "system mode: read");
    return toSetting(rows[0]);
  }

  /** One transaction: the row is locked and read, then bumped only when the mode differs. */
  async change(change: ModeChange): Promise<{ setting: SystemModeSetting; previous: SystemModeSetting; changed: boolean }> {
    this.onQuery();
    const [previousRows, updatedRows] = await this.db.transaction(
      (tx) => [
        tx.query(`SELECT ${COLUMNS} FROM system_config WHERE key = $1 FOR UPDATE`, [KEY]),
        tx.query(
          `UPDATE system_config SET value = $2, version = version + 1, reason = $3, updated_by = $4, updated_at = $5
           WHERE key = $1 AND value <> $2 RETURNING ${COLUMNS}`,
          [KEY, change.mode, change.reason, change.actor, change.now],
        ),
      ],
      "system mode: change",
    );
    const previous = toSetting(previousRows?.[0]);
    const updated = updatedRows?.[0];
    return updated ? { setting: toSetting(updated), previous, changed: true } : { setting: previous, previous, changed: false };
  }
}
