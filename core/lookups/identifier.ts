import { isUuid } from "../identity/uuid";
import { ValidationError } from "../errors";

export type IdentifierKind = "telegram_id" | "okx_uid" | "user_id";

export interface Identifier {
  readonly kind: IdentifierKind;
  /** Canonical form: lower-case uuid, digits without leading zeros or sign. */
  readonly value: string;
}

const DIGITS = /^[0-9]+$/;

/** Longest Telegram id treated as one ("direct" rule of system A); longer digit strings are OKX UIDs. */
export const MAX_TELEGRAM_ID_DIGITS = 11;
/** OKX UIDs seen in the wild are 15-18 digits; 12-20 leaves room without overlapping Telegram ids. */
export const MIN_OKX_UID_DIGITS = 12;
export const MAX_OKX_UID_DIGITS = 20;

/**
 * The classification rule, explicit because every tier depends on it:
 * - a UUID is an internal `user_id`;
 * - 1-11 digits (no leading zero) is a `telegram_id`, the chat id notifications go to;
 * - 12-20 digits (no leading zero) is an `okx_uid`, the exchange account id;
 * - anything else is rejected with a 400 naming the field.
 */
export function classifyIdentifier(raw: string, field = "identifier"): Identifier {
  const value = raw.trim();
  if (value === "") throw ValidationError.field(field, "must not be empty");
  if (isUuid(value)) return { kind: "user_id", value: value.toLowerCase() };
  if (!DIGITS.test(value)) {
    throw ValidationError.field(field, "must be a user id (UUID), a Telegram id (1-11 digits) or an OKX UID (12-20 digits)");
  }
  if (value.startsWith("0")) throw ValidationError.field(field, "numeric identifiers must not start with 0");
  if (value.length <= MAX_TELEGRAM_ID_DIGITS) return { kind: "telegram_id", value };
  if (value.length <= MAX_OKX_UID_DIGITS) return { kind: "okx_uid", value };
  throw ValidationError.field(field, `is ${value.length} digits long; OKX UIDs have at most ${MAX_OKX_UID_DIGITS}`);
}
