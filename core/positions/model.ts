import type { PositionSide } from "../redis/segments";

export type { PositionSide } from "../redis/segments";
export { DEFAULT_EXCHANGE, positionSides } from "../redis/segments";

export const marginModes = ["cross", "isolated"] as const;
export type MarginMode = (typeof marginModes)[number];

export const positionStatuses = ["open", "closed"] as const;
export type PositionStatus = (typeof positionStatuses)[number];

/** Where a position lives: one per (user, exchange, symbol, side). */
export interface PositionRef {
  /** App user id. */
  readonly userId: string;
  readonly exchange: string;
  readonly symbol: string;
  readonly side: PositionSide;
}

/** A scalar a bot may store beside the typed fields (bounded in number and size). */
export type ExtraScalar = string | number | boolean;

/** What a bot reports: the typed fields, snake_case as stored in the hash, plus bounded extras. */
export interface PositionFields {
  readonly size: number;
  readonly entry_price: number;
  readonly mark_price?: number | undefined;
  readonly leverage?: number | undefined;
  readonly margin_mode?: MarginMode | undefined;
  readonly unrealized_pnl?: number | undefined;
  readonly liquidation_price?: number | undefined;
  readonly take_profit?: readonly number[] | undefined;
  readonly stop_loss?: number | undefined;
  readonly extra: Readonly<Record<string, ExtraScalar>>;
}

/** A position as stored: the fields plus what the server sets. */
export interface PositionDocument extends PositionFields {
  /** Set when the position opens and kept by every update until it closes. */
  readonly id: string;
  readonly opened_at: string;
  readonly updated_at: string;
}

export interface Position extends PositionRef {
  readonly document: PositionDocument;
  readonly status: PositionStatus;
  readonly closedAt: string | null;
}

/** The typed numeric fields, in the order responses list them. */
export const numericFields = ["size", "entry_price", "mark_price", "leverage", "unrealized_pnl", "liquidation_price", "stop_loss"] as const;
export type NumericField = (typeof numericFields)[number];

/** Names the server owns or the key already carries: never accepted as extras. */
export const reservedFields = new Set<string>([
  ...numericFields,
  "margin_mode",
  "take_profit",
  "id",
  "opened_at",
  "updated_at",
  "closed_at",
  "status",
  "user_id",
  "exchange",
  "symbol",
  "side",
]);

export const MAX_EXTRA_FIELDS = 32;
export const MAX_EXTRA_STRING_LENGTH = 256;
export const MAX_TAKE_PROFIT_LEVELS = 20;
export const EXTRA_FIELD_NAME = /^[a-z][a-z0-9_]{0,63}$/;
