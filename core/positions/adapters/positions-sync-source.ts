import type { Clock } from "../../clock";
import type { Database } from "../../db/database";
import type { UserDirectory } from "../../identity/user-ref";
import type { PositionKeys } from "../../redis/keys";
import type { SyncFilter } from "../../sync/model";
import type { SyncApplyResult, SyncDecision, SyncItem, SyncRead, SyncSource, SyncWork } from "../../sync/ports";
import type { OpenPosition, OpenPositionStore } from "../ports";
import { positionValues } from "./postgres-position-records";

export interface PositionsSyncDeps {
  readonly store: OpenPositionStore;
  readonly keys: PositionKeys;
  readonly db: Database;
  readonly clock: Clock;
  /** Resolves `--okx-uid` to the app user id that the position keys carry. */
  readonly directory: UserDirectory;
}

/** One user's live positions (those with an id: a hash written around the API gets one at its next PUT). */
export interface UserPositions {
  readonly userId: string;
  readonly open: readonly OpenPosition[];
}

/** What one user's page entry writes: positions to upsert as open, ids to close. */
export interface PositionsChange {
  readonly upserts: readonly OpenPosition[];
  readonly closes: readonly string[];
}

/**
 * The positions source of the scheduled sync: walks `positions:exchanges:{user}` (one key per user
 * who ever had a position, never emptied, so a user whose last position closed is still visited),
 * reads each user's open positions (one pipeline per page), upserts those Postgres lacks or holds
 * older, and closes (closed_at = now) the rows Postgres has open that left the index.
 */
export class PositionsSyncSource implements SyncSource<UserPositions, PositionsChange> {
  readonly name = "positions";
  private filterUser: Promise<string | null> | undefined;

  constructor(private readonly deps: PositionsSyncDeps) {}

  patterns(filter: SyncFilter): readonly string[] {
    if (filter.okxUid !== undefined) this.filterUser = this.deps.directory.userIdByOkxUid(filter.okxUid);
    return [this.deps.keys.positionExchangesPattern()];
  }

  async read(keyNames: readonly string[]): Promise<readonly SyncRead<UserPositions>[]> {
    const only = this.filterUser ? await this.filterUser : undefined;
    const users = keyNames.map((key) => ({ key, userId: this.deps.keys.userOfPositionExchangesKey(key) }));
    const wanted = users.filter((u): u is { key: string; userId: string } => u.userId !== null && (only === undefined || u.userId === only));
    const open = await this.deps.store.bulk(wanted.map((u) => u.userId), {});
    return users.map(({ key, userId }): SyncRead<UserPositions> => {
      if (userId === null) return { kind: "invalid", key, problems: [{ path: "key", reason: "does not follow positions:exchanges:{app user id}" }] };
      const positions = open.get(userId);
      if (!positions) return { kind: "skip", key };
      return { kind: "item", key, item: { userId, open: positions.filter((p) => p.document.id !== "" && p.document.opened_at !== "") } };
    });
  }

  async plan(items: readonly SyncItem<UserPositions>[]): Promise<readonly SyncDecision<PositionsChange>[]> {
    const rows = await this.deps.db.query(
      `SELECT id::text AS id, user_id::text AS user_id, status, updated_at FROM positions
       WHERE (user_id = ANY($1::uuid[]) AND status = 'open') OR id = ANY($2::uuid[])`,
      [items.map((i) => i.item.userId), items.flatMap((i) => i.item.open.map((p) => p.document.id))],
      "positions sync plan",
    );
    const stored = new Map(rows.map((row) => [String(row.id), { userId: String(row.user_id), open: row.status === "open", updatedAt: new Date(String(row.updated_at instanceof Date ? row.updated_at.toISOString() : row.updated_at)).getTime() }]));
    return items.map(({ key, item }): SyncDecision<PositionsChange> => {
      const live = new Set(item.open.map((p) => p.document.id));
      const upserts = item.open.filter((p) => {
        const row = stored.get(p.document.id);
        return !row || !row.open || row.updatedAt !== Date.parse(p.document.updated_at);
      });
      const closes = [...stored].filter(([id, row]) => row.userId === item.userId && row.open && !live.has(id)).map(([id]) => id);
      return upserts.length === 0 && closes.length === 0 ? { kind: "unchanged", key } : { kind: "write", key, change: { upserts, closes } };
    });
  }

  async apply(work: readonly SyncWork<PositionsChange>[]): Promise<SyncApplyResult> {
    const changes = work.flatMap((w) => (w.change ? [w.change] : []));
    const upserts = changes.flatMap((c) => c.upserts);
    const closes = changes.flatMap((c) => c.closes);
    if (upserts.length > 0 || closes.length > 0) await this.write(upserts, closes);
    return { written: changes.length, conflicts: work.length - changes.length, unchanged: 0, failures: [] };
  }

  /** One statement for the page: upserts (only rows that changed) and closes (only rows still open). */
  private async write(upserts: readonly OpenPosition[], closes: readonly string[]): Promise<void> {
    const input = upserts.map((p) => {
      const [id, user_id, exchange, symbol, side, size, entry_price, mark_price, leverage, margin_mode, unrealized_pnl, liquidation_price, take_profit, stop_loss, extra, opened_at, updated_at] =
        positionValues(p);
      return { id, user_id, exchange, symbol, side, size, entry_price, mark_price, leverage, margin_mode, unrealized_pnl, liquidation_price, take_profit, stop_loss, extra: JSON.parse(String(extra)) as unknown, opened_at, updated_at };
    });
    await this.deps.db.transaction(
      (sql) => [
        sql.query(
          `WITH input AS (
             SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, user_id uuid, exchange text, symbol text, side text, size float8,
               entry_price float8, mark_price float8, leverage float8, margin_mode text, unrealized_pnl float8, liquidation_price float8,
               take_profit jsonb, stop_loss float8, extra jsonb, opened_at timestamptz, updated_at timestamptz)),
           upserted AS (
             INSERT INTO positions (id, user_id, exchange, symbol, side, size, entry_price, mark_price, leverage, margin_mode, unrealized_pnl,
               liquidation_price, take_profit, stop_loss, extra, opened_at, updated_at, status, closed_at)
             SELECT id, user_id, exchange, symbol, side, size, entry_price, mark_price, leverage, margin_mode, unrealized_pnl, liquidation_price,
               CASE WHEN take_profit IS NULL OR jsonb_typeof(take_profit) <> 'array' THEN NULL
                    ELSE ARRAY(SELECT jsonb_array_elements_text(take_profit)::float8) END,
               stop_loss, COALESCE(extra, '{}'::jsonb), opened_at, updated_at, 'open', NULL
             FROM input
             ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, entry_price = EXCLUDED.entry_price, mark_price = EXCLUDED.mark_price,
               leverage = EXCLUDED.leverage, margin_mode = EXCLUDED.margin_mode, unrealized_pnl = EXCLUDED.unrealized_pnl,
               liquidation_price = EXCLUDED.liquidation_price, take_profit = EXCLUDED.take_profit, stop_loss = EXCLUDED.stop_loss,
               extra = EXCLUDED.extra, updated_at = EXCLUDED.updated_at, status = 'open', closed_at = NULL, synced_at = now()
             WHERE positions.updated_at IS DISTINCT FROM EXCLUDED.updated_at OR positions.status <> 'open'
             RETURNING 1)
           UPDATE positions SET status = 'closed', closed_at = $2, synced_at = now() WHERE id = ANY($3::uuid[]) AND status = 'open'`,
          [JSON.stringify(input), this.deps.clock.now().toISOString(), [...closes]],
        ),
      ],
      "positions sync write",
    );
  }
}
