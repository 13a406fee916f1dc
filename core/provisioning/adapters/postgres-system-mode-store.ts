import type { Sql } from "../../db/neon";
import { UnavailableError } from "../../errors";
import type { SystemMode } from "../model";
import type { ModeChange, SystemModeSetting, SystemModeStore } from "../ports";

const KEY = "system_mode";
const COLUMNS = "value, version, reason, updated_by, updated_at";

function toSetting(row: Record<string, unknown>): SystemModeSetting {
  return {
    mode: row.value as SystemMode,
    version: Number(row.version),
    reason: row.reason === null ? null : String(row.reason),
    updatedBy: row.updated_by === null ? null : String(row.updated_by),
    updatedAt: new Date(row.updated_at as string | Date),
  };
}

/** The system_mode row of system_config. */
export class PostgresSystemModeStore implements SystemModeStore {
  constructor(
    private readonly sql: Sql,
    private readonly onQuery: () => void = () => undefined,
  ) {}

  async read(): Promise<SystemModeSetting> {
    this.onQuery();
    try {
      const rows = await this.sql.query(`SELECT ${COLUMNS} FROM system_config WHERE key = $1`, [KEY]);
      if (!rows[0]) throw new Error("system_config has no system_mode row (migration 0033 not applied?)");
      return toSetting(rows[0]);
    } catch (error) {
      throw new UnavailableError("system mode store: read failed", { cause: error });
    }
  }

  /** One statement: the row is locked, compared and bumped only when the mode differs. */
  async change(change: ModeChange): Promise<{ setting: SystemModeSetting; previous: SystemModeSetting; changed: boolean }> {
    this.onQuery();
    try {
      const [previousRows, updatedRows] = await this.sql.transaction([
        this.sql.query(`SELECT ${COLUMNS} FROM system_config WHERE key = $1 FOR UPDATE`, [KEY]),
        this.sql.query(
          `UPDATE system_config SET value = $2, version = version + 1, reason = $3, updated_by = $4, updated_at = $5
           WHERE key = $1 AND value <> $2 RETURNING ${COLUMNS}`,
          [KEY, change.mode, change.reason, change.actor, change.now],
        ),
      ]);
      if (!previousRows?.[0]) throw new Error("system_config has no system_mode row (migration 0033 not applied?)");
      const previous = toSetting(previousRows[0]);
      const updated = updatedRows?.[0];
      return updated ? { setting: toSetting(updated), previous, changed: true } : { setting: previous, previous, changed: false };
    } catch (error) {
      throw new UnavailableError("system mode store: change failed", { cause: error });
    }
  }
}
