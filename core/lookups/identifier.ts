import { isUuid } from "../identity/uuid";
import { ValidationError } from "../errors";

export const identifierKinds = ["telegram_id", "okx_uid", "user_id"] as const;
export type IdentifierKind = (typeof identifierKinds)[number];

export interface Identifier {
  readonly kind: IdentifierKind;
  /** Canonical form: lower-case uuid, digits without leading zeros (a Telegram id may carry a `-`). */
  readonly value: string;
}

/** The cache key of an identifier, in every cache keyed by identifiers (lookups, user refs). */
export const identifierKey = (identifier: Identifier): string => `${identifier.kind}:${identifier.value}`;

/** Telegram chat ids fit in 52 bits (Bot API), positive for people, negative for groups and channels. */
export const MAX_TELEGRAM_ID_MAGNITUDE = 2 ** 52;
/** Longest positive Telegram id the digit rule reads as one ("direct" rule of system A). */
export const MAX_TELEGRAM_ID_DIGITS = 11;
/** OKX UIDs seen in the wild are 15-18 digits; 12-20 leaves room without overlapping Telegram ids. */
export const MIN_OKX_UID_DIGITS = 12;
export const MAX_OKX_UID_DIGITS = 20;

const DIGITS = /^[0-9]+$/;
const TELEGRAM_ID = /^-?[0-9]+$/;

/** Why `value` is not a Telegram chat id, or null. */
export function telegramIdProblem(value: string): string | null {
  if (!TELEGRAM_ID.test(value)) return "must be an integer (negative for groups and channels)";
  const digits = value.replace(/^-/, "");
  if (digits.startsWith("0")) return digits === "0" ? "must not be 0" : "must not start with 0";
  if (digits.length > 16 || Number(digits) > MAX_TELEGRAM_ID_MAGNITUDE) return "must fit in 52 bits (at most 4503599627370496 either way)";
  return null;
}

/** Why `value` is not an OKX UID, or null. */
export function okxUidProblem(value: string): string | null {
  if (!DIGITS.test(value)) return "must be digits only";
  if (value.startsWith("0")) return "must not start with 0";
  if (value.length < MIN_OKX_UID_DIGITS || value.length > MAX_OKX_UID_DIGITS) {
    return `must be ${MIN_OKX_UID_DIGITS}-${MAX_OKX_UID_DIGITS} digits (this one has ${value.length})`;
  }
  return null;
}

/**
 * Why a Telegram id may not be stored, or null: the digit rule (classifyIdentifier) reads a
 * positive number of 12 or more digits as an OKX UID, so a lookup that does not name the kind would
 * miss this mapping or find another user's. Rejected when written, so that never happens.
 */
export function telegramIdMisreadProblem(value: string): string | null {
  if (!value.startsWith("-") && value.length > MAX_TELEGRAM_ID_DIGITS) {
    return `a positive Telegram id of ${value.length} digits would be read as an OKX UID by lookups that do not name the kind; at most ${MAX_TELEGRAM_ID_DIGITS} digits`;
  }
  return null;
}

/** Validates a value whose kind the caller named (`?kind=` or `{kind, value}`). */
export function parseIdentifier(raw: string, kind: IdentifierKind, field = "identifier"): Identifier {
  const value = raw.trim();
  if (value === "") throw ValidationError.field(field, "must not be empty");
  if (kind === "user_id") {
    if (!isUuid(value)) throw ValidationError.field(field, "must be a UUID (kind user_id)");
    return { kind, value: value.toLowerCase() };
  }
  const problem = kind === "telegram_id" ? telegramIdProblem(value) : okxUidProblem(value);
  if (problem) throw ValidationError.field(field, `${problem} (kind ${kind})`);
  return { kind, value };
}

/**
 * The digit rule, the documented fallback when the caller does not name the kind:
 * - a UUID is an internal `user_id`;
 * - a negative integer is a `telegram_id` (groups and channels: `-100…`);
 * - 1-11 digits (no leading zero) is a `telegram_id`, the chat id notifications go to;
 * - 12-20 digits (no leading zero) is an `okx_uid`, the exchange account id;
 * - anything else is rejected with a 400 naming the field.
 * Writes refuse what this rule would misread (telegramIdMisreadProblem).
 */
export function classifyIdentifier(raw: string, field = "identifier"): Identifier {
  const value = raw.trim();
  if (value === "") throw ValidationError.field(field, "must not be empty");
  if (isUuid(value)) return { kind: "user_id", value: value.toLowerCase() };
  if (value.startsWith("-")) return parseIdentifier(value, "telegram_id", field);
  if (!DIGITS.test(value)) {
    throw ValidationError.field(field, "must be a user id (UUID), a Telegram id (1-11 digits, or negative) or an OKX UID (12-20 digits)");
  }
  if (value.startsWith("0")) throw ValidationError.field(field, "numeric identifiers must not start with 0");
  if (value.length <= MAX_TELEGRAM_ID_DIGITS) return { kind: "telegram_id", value };
  if (value.length <= MAX_OKX_UID_DIGITS) return { kind: "okx_uid", value };
  throw ValidationError.field(field, `is ${value.length} digits long; OKX UIDs have at most ${MAX_OKX_UID_DIGITS}`);
}

/** With a named kind the value is checked for that kind; without one the digit rule decides. */
export function identifierOf(raw: string, kind: IdentifierKind | undefined, field = "identifier"): Identifier {
  return kind ? parseIdentifier(raw, kind, field) : classifyIdentifier(raw, field);
}
