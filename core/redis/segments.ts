import { ValidationError } from "../errors";
import { isUuid } from "../identity/uuid";

/**
 * Validation of the values that become Redis key segments. A segment holding a separator (`:`), a
 * glob character (`*`, `?`, `[`), whitespace or nothing could address another user's keys or turn a
 * SCAN pattern into a wider one, so it is refused before any key is built.
 */

export const positionSides = ["long", "short"] as const;
export type PositionSide = (typeof positionSides)[number];

export const DEFAULT_EXCHANGE = "okx";
const MAX_EXCHANGE_LENGTH = 32;
const MAX_SYMBOL_LENGTH = 64;
/** Legacy user segments are only read back (migration); bounded so a hostile key cannot bloat a report. */
const MAX_LEGACY_SEGMENT_LENGTH = 128;

const EXCHANGE = /^[a-z0-9]+$/;
const SYMBOL = /^[A-Z0-9_/-]+$/;
const UNSAFE = /[:*?[\]\s\\]/;

/** Why `value` may not be any key segment (separator, glob, whitespace, empty), or null. */
export function unsafeSegmentProblem(value: string): string | null {
  if (value.length === 0) return "must not be empty";
  const unsafe = UNSAFE.exec(value);
  if (unsafe) return `must not contain ${JSON.stringify(unsafe[0])} (key separators, glob characters and whitespace are refused)`;
  return null;
}

function check(value: string, field: string, rule: (value: string) => string | null): string {
  const problem = unsafeSegmentProblem(value) ?? rule(value);
  if (problem !== null) throw ValidationError.field(field, problem);
  return value;
}

/** An exchange id: lower-case letters and digits (`okx`, `binance`). */
export function exchangeSegment(value: string, field = "exchange"): string {
  return check(value, field, (v) =>
    v.length > MAX_EXCHANGE_LENGTH ? `must be at most ${MAX_EXCHANGE_LENGTH} characters` : EXCHANGE.test(v) ? null : "must be lower-case letters and digits, e.g. okx",
  );
}

/** An instrument id as the exchange spells it, upper case: `BTC-USDT-SWAP`, `ETH/USDT`. */
export function symbolSegment(value: string, field = "symbol"): string {
  return check(value, field, (v) =>
    v.length > MAX_SYMBOL_LENGTH
      ? `must be at most ${MAX_SYMBOL_LENGTH} characters`
      : SYMBOL.test(v)
        ? null
        : "must be an upper-case instrument id of A-Z, 0-9, '-', '_' and '/', e.g. BTC-USDT-SWAP",
  );
}

export function sideSegment(value: string, field = "side"): PositionSide {
  check(value, field, (v) => ((positionSides as readonly string[]).includes(v) ? null : "must be long or short"));
  return value as PositionSide;
}

/** The `{user}` segment is the app user id (a UUID, identity rules); stored lower-case. */
export function userSegment(value: string, field = "user"): string {
  check(value, field, (v) => (isUuid(v) ? null : "must be an app user id (UUID)"));
  return value.toLowerCase();
}

/** A user segment of a legacy key (any safe non-empty text: the old platforms' ids were not all UUIDs). */
export function legacySegment(value: string, field = "user"): string {
  return check(value, field, (v) => (v.length > MAX_LEGACY_SEGMENT_LENGTH ? `must be at most ${MAX_LEGACY_SEGMENT_LENGTH} characters` : null));
}

export function isPositionSide(value: string): value is PositionSide {
  return (positionSides as readonly string[]).includes(value);
}
