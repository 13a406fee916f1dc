import type { Database, Row } from "../../db/database";
import { ValidationError } from "../../errors";
import type { PositionSide } from "../../redis/segments";
import type { ExtraScalar, MarginMode, Position, PositionDocument, PositionStatus } from "../model";
import type { OpenPosition, PositionRecords, RecordPage, RecordQuery } from "../ports";

const COLUMNS = `id, user_id, exchange, symbol, side, size, entry_price, mark_price, leverage, margin_mode, unrealized_pnl,
  liquidation_price, take_profit, stop_loss, extra, status, opened_at, updated_at, closed_at`;

/** Insert order of positionValues, then status and closed_at. */
export const INSERT_COLUMNS = `id, user_id, exchange, symbol, side, size, entry_price, mark_price, leverage, margin_mode, unrealized_pnl,
  liquidation_price, take_profit, stop_loss, extra, opened_at, updated_at, status, closed_at`;

/** The typed columns in insert order, after id, user_id, exchange, symbol, side. */
export function positionValues(position: OpenPosition): unknown[] {
  const d = position.document;
  return [
    d.id,
    position.userId,
    position.exchange,
    position.symbol,
    position.side,
    d.size,
    d.entry_price,
    d.mark_price ?? null,
    d.leverage ?? null,
    d.margin_mode ?? null,
    d.unrealized_pnl ?? null,
    d.liquidation_price ?? null,
    d.take_profit ? [...d.take_profit] : null,
    d.stop_loss ?? null,
    JSON.stringify(d.extra),
    d.opened_at,
    d.updated_at,
  ];
}

const iso = (value: unknown): string => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString());
const num = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value));

export function positionOfRow(row: Row): Position {
  const document: Record<string, unknown> = {
    id: String(row.id),
    size: Number(row.size),
    entry_price: Number(row.entry_price),
    mark_price: num(row.mark_price),
    leverage: num(row.leverage),
    margin_mode: (row.margin_mode as MarginMode | null) ?? undefined,
    unrealized_pnl: num(row.unrealized_pnl),
    liquidation_price: num(row.liquidation_price),
    take_profit: Array.isArray(row.take_profit) ? row.take_profit.map(Number) : undefined,
    stop_loss: num(row.stop_loss),
    extra: (typeof row.extra === "string" ? JSON.parse(row.extra) : (row.extra ?? {})) as Record<string, ExtraScalar>,
    opened_at: iso(row.opened_at),
    updated_at: iso(row.updated_at),
  };
  return {
    userId: String(row.user_id),
    exchange: String(row.exchange),
    symbol: String(row.symbol),
    side: row.side as PositionSide,
    status: row.status as PositionStatus,
    closedAt: row.closed_at === null || row.closed_at === undefined ? null : iso(row.closed_at),
    document: Object.fromEntries(Object.entries(document).filter(([, v]) => v !== undefined)) as unknown as PositionDocument,
  };
}

/** Keyset cursor of the closed list: base64url of `closed_at|id`. */
function encodeCursor(position: Position): string {
  return Buffer.from(`${position.closedAt ?? ""}|${position.document.id}`).toString("base64url");
}

function decodeCursor(cursor: string): { closedAt: string; id: string } {
  const [closedAt, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (!closedAt || !id || Number.isNaN(Date.parse(closedAt)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw ValidationError.field("query.cursor", "must be the nextCursor of a previous page");
  }
  return { closedAt, id };
}

/** The durable record in Postgres (table positions), one statement per call. */
export class PostgresPositionRecords implements PositionRecords {
  constructor(
    private readonly db: Database,
    private readonly onQuery: () => void = () => {},
  ) {}

  async byId(id: string): Promise<Position | null> {
    this.onQuery();
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM positions WHERE id = $1`, [id], "position by id");
    return rows[0] ? positionOfRow(rows[0]) : null;
  }

  async list(query: RecordQuery): Promise<RecordPage> {
    const params: unknown[] = [query.userId, query.status];
    const where = ["user_id = $1", "status = $2"];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace("?", `$${params.length}`));
    };
    if (query.exchange) add("exchange = ?", query.exchange);
    if (query.symbol) add("symbol = ?", query.symbol);
    if (query.side) add("side = ?", query.side);
    if (query.cursor) {
      const after = decodeCursor(query.cursor);
      params.push(after.closedAt, after.id);
      where.push(`(closed_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(query.limit + 1);
    this.onQuery();
    const rows = await this.db.query(
      `SELECT ${COLUMNS} FROM positions WHERE ${where.join(" AND ")} ORDER BY closed_at DESC NULLS LAST, id DESC LIMIT $${params.length}`,
      params,
      "positions list",
    );
    const positions = rows.slice(0, query.limit).map(positionOfRow);
    const last = positions.at(-1);
    return { positions, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
  }

  async close(position: OpenPosition, closedAt: Date): Promise<void> {
    this.onQuery();
    await this.db.transaction(
      (sql) => [
        sql.query(
          `INSERT INTO positions (${INSERT_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16, $17, 'closed', $18)
           ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, entry_price = EXCLUDED.entry_price, mark_price = EXCLUDED.mark_price,
             leverage = EXCLUDED.leverage, margin_mode = EXCLUDED.margin_mode, unrealized_pnl = EXCLUDED.unrealized_pnl,
             liquidation_price = EXCLUDED.liquidation_price, take_profit = EXCLUDED.take_profit, stop_loss = EXCLUDED.stop_loss,
             extra = EXCLUDED.extra, updated_at = EXCLUDED.updated_at, status = 'closed',
             closed_at = COALESCE(positions.closed_at, EXCLUDED.closed_at), synced_at = now()`,
          [...positionValues(position), closedAt.toISOString()],
        ),
      ],
      "position close",
    );
  }
}
