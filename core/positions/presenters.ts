import type { Position } from "./model";
import type { OpenPosition } from "./ports";

/** The response shape: the stored snake_case fields, flat, extras beside them. */
export type PositionBody = Record<string, string | number | boolean | null | readonly number[]>;

export function presentPosition(position: Position): PositionBody {
  const { extra, id, opened_at, updated_at, ...fields } = position.document;
  return {
    ...extra,
    id,
    user_id: position.userId,
    exchange: position.exchange,
    symbol: position.symbol,
    side: position.side,
    status: position.status,
    ...fields,
    opened_at,
    updated_at,
    closed_at: position.closedAt,
  };
}

export function asOpen(position: OpenPosition): Position {
  return { ...position, status: "open", closedAt: null };
}
