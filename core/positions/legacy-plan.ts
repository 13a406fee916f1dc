import { AppError } from "../errors";
import { isUuid } from "../identity/uuid";
import type { LegacyKey, LegacyKeyForm } from "../redis/keys";
import { DEFAULT_EXCHANGE, exchangeSegment, isPositionSide, symbolSegment } from "../redis/segments";
import type { PositionSide } from "../redis/segments";
import { encodeFields } from "./encoding";
import { numericFields } from "./model";
import { parsePositionFields } from "./schemas";

/** A legacy key's value as read: a string, a flat hash, another type (orders), or gone. */
export type LegacyValue =
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "hash"; readonly value: Readonly<Record<string, string>> }
  | { readonly type: "other" | "none" };

/** One standard position a legacy value becomes. */
export interface MoveTarget {
  readonly userId: string;
  readonly exchange: string;
  readonly symbol: string;
  readonly side: PositionSide;
  /** Hash fields without the server's (id, opened_at, updated_at). */
  readonly fields: Readonly<Record<string, string>>;
  readonly openedAt: string | null;
}

export type LegacyPlan =
  | { readonly kind: "move"; readonly form: LegacyKeyForm; readonly targets: readonly MoveTarget[]; readonly remainder: string | null; readonly problems: readonly string[] }
  | { readonly kind: "rename"; readonly form: LegacyKeyForm }
  | { readonly kind: "invalid"; readonly form: LegacyKeyForm; readonly reason: string }
  | { readonly kind: "gone"; readonly form: LegacyKeyForm };

/** Names that are key parts or the server's, never copied into the hash. */
const KEY_PARTS = new Set(["symbol", "inst_id", "instId", "side", "position_side", "posSide", "direction", "exchange", "user_id", "id", "opened_at", "created_at", "updated_at", "closed_at", "status"]);

const SIDES: Readonly<Record<string, PositionSide>> = { long: "long", short: "short", buy: "long", sell: "short" };

function sideOf(record: Readonly<Record<string, unknown>>): PositionSide | null {
  for (const name of ["side", "position_side", "posSide", "direction"]) {
    const value = record[name];
    const side = typeof value === "string" ? SIDES[value.trim().toLowerCase()] : undefined;
    if (side) return side;
  }
  return null;
}

function symbolOf(record: Readonly<Record<string, unknown>>): string | null {
  const value = record.symbol ?? record.inst_id ?? record.instId;
  return typeof value === "string" && value.trim() !== "" ? value.trim().toUpperCase() : null;
}

/** Decimal strings of the typed numeric fields become numbers; take_profit a list; the rest as stored. */
function normalised(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record)) {
    if (KEY_PARTS.has(name) || value === null || value === "") continue;
    if ((numericFields as readonly string[]).includes(name) && typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) out[name] = Number(value);
    else if (name === "take_profit") out[name] = takeProfit(value);
    else out[name] = value;
  }
  return out;
}

function takeProfit(value: unknown): unknown {
  if (typeof value === "number") return [value];
  if (typeof value !== "string") return value;
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return value.split(",").map((part) => Number(part.trim()));
  }
}

function openedAtOf(record: Readonly<Record<string, unknown>>): string | null {
  const value = record.opened_at ?? record.created_at;
  if (typeof value !== "string" && typeof value !== "number") return null;
  const at = new Date(typeof value === "number" && value < 1e12 ? value * 1000 : value);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

/** The target of one legacy position record, or why it cannot move. */
export function targetOf(user: string, exchange: string, symbol: string | null, side: PositionSide | null, record: Readonly<Record<string, unknown>>): MoveTarget | string {
  if (!isUuid(user)) return `user ${JSON.stringify(user)} is not an app user id (UUID)`;
  if (side === null) return "the side cannot be determined (no long/short/buy/sell in side, position_side, posSide or direction)";
  if (symbol === null) return "no symbol";
  try {
    exchangeSegment(exchange);
    symbolSegment(symbol);
    const fields = parsePositionFields(normalised(record), "value");
    return { userId: user.toLowerCase(), exchange, symbol, side, fields: encodeFields(fields), openedAt: openedAtOf(record) };
  } catch (error) {
    if (error instanceof AppError) return error.message;
    throw error;
  }
}

function recordOf(value: LegacyValue): Record<string, unknown> | string {
  if (value.type === "hash") return { ...value.value };
  if (value.type !== "string") return "is neither a string nor a hash";
  try {
    const parsed = JSON.parse(value.value) as unknown;
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : "is not a JSON object";
  } catch {
    return "is not JSON";
  }
}

function single(form: LegacyKeyForm, target: MoveTarget | string): LegacyPlan {
  return typeof target === "string" ? { kind: "invalid", form, reason: target } : { kind: "move", form, targets: [target], remainder: null, problems: [] };
}

/** What to do with one legacy key, given its value (pure; the migration applies it atomically). */
export function planLegacyKey(legacy: LegacyKey, value: LegacyValue): LegacyPlan {
  const form = legacy.form;
  if (value.type === "none") return { kind: "gone", form };
  if (form === "order_placed") return planOrders(legacy.user, legacy.exchange, legacy.symbol);
  if (form === "grid_array") return planGrid(legacy.user, legacy.exchange, value);
  const record = recordOf(value);
  if (typeof record === "string") return { kind: "invalid", form, reason: `the value ${record}` };
  const keySide = form === "position_symbol" ? null : isPositionSide(legacy.side.toLowerCase()) ? (legacy.side.toLowerCase() as PositionSide) : null;
  const side = form === "position_symbol" ? sideOf(record) : keySide;
  const exchange = form === "position_exchange" ? legacy.exchange : DEFAULT_EXCHANGE;
  return single(form, targetOf(legacy.user, exchange, legacy.symbol.toUpperCase(), side, record));
}

/** A GRID array: every element that can move does; those that cannot stay in the array (reported). */
function planGrid(user: string, exchange: string, value: LegacyValue): LegacyPlan {
  const form = "grid_array";
  if (value.type !== "string") return { kind: "invalid", form, reason: "the value is not a string (a JSON array)" };
  let elements: unknown;
  try {
    elements = JSON.parse(value.value);
  } catch {
    return { kind: "invalid", form, reason: "the value is not JSON" };
  }
  if (!Array.isArray(elements)) return { kind: "invalid", form, reason: "the value is not a JSON array" };
  // An empty array holds nothing: the key just goes.
  if (elements.length === 0) return { kind: "move", form, targets: [], remainder: null, problems: [] };
  const targets: MoveTarget[] = [];
  const left: unknown[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  elements.forEach((element, index) => {
    const record = element !== null && typeof element === "object" && !Array.isArray(element) ? (element as Record<string, unknown>) : null;
    const target = record ? targetOf(user, exchange, symbolOf(record), sideOf(record), record) : "is not an object";
    const place = typeof target === "string" ? "" : `${target.symbol}:${target.side}`;
    const problem = typeof target === "string" ? target : seen.has(place) ? `a second ${place} in the same array` : null;
    if (problem !== null || typeof target === "string") {
      left.push(element);
      problems.push(`element ${index}: ${problem ?? ""}`);
      return;
    }
    seen.add(place);
    targets.push(target);
  });
  if (targets.length === 0) return { kind: "invalid", form, reason: problems.join("; ") || "the array is empty" };
  return { kind: "move", form, targets, remainder: left.length > 0 ? JSON.stringify(left) : null, problems };
}

/** Orders keys move whole (any type) under the `orders:` prefix, when their segments fit the standard. */
function planOrders(user: string, exchange: string, symbol: string): LegacyPlan {
  const form = "order_placed";
  if (!isUuid(user)) return { kind: "invalid", form, reason: `user ${JSON.stringify(user)} is not an app user id (UUID)` };
  try {
    exchangeSegment(exchange);
    symbolSegment(symbol.toUpperCase());
  } catch (error) {
    if (error instanceof AppError) return { kind: "invalid", form, reason: error.message };
    throw error;
  }
  return { kind: "rename", form };
}
