import { EXTRA_FIELD_NAME, MAX_EXTRA_FIELDS, MAX_EXTRA_STRING_LENGTH, marginModes, numericFields, reservedFields } from "./model";
import type { ExtraScalar, MarginMode, PositionDocument, PositionFields } from "./model";

/**
 * The Redis hash of a position holds strings: numbers as decimals, take_profit as a JSON array,
 * extras raw when that reads back as the same value (`"abc"`, `12`, `true`), JSON-quoted otherwise
 * (the string `"12"` is stored as `"\"12\""`), so every document round-trips exactly and a bot that
 * reads the hash directly sees plain values.
 */

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** What a stored extra reads as: a JSON scalar when it is one, else the raw string (no exception on the hot path). */
function decodeExtra(raw: string): ExtraScalar {
  if (raw === "true") return true;
  if (raw === "false") return false;
  const first = raw.charCodeAt(0);
  if (first === 34) {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (typeof parsed === "string") return parsed;
    } catch {
      // Not a JSON string: as stored.
    }
    return raw;
  }
  if ((first === 45 || (first >= 48 && first <= 57)) && JSON_NUMBER.test(raw)) {
    const value = Number(raw);
    if (Number.isFinite(value)) return value;
  }
  return raw;
}

function encodeExtra(value: ExtraScalar): string {
  if (typeof value !== "string") return String(value);
  return decodeExtra(value) === value ? value : JSON.stringify(value);
}

/** The fields of the hash, in HSET order (field, value, field, value...). */
export function encodePosition(document: PositionDocument): Record<string, string> {
  const hash: Record<string, string> = { id: document.id, opened_at: document.opened_at, updated_at: document.updated_at };
  for (const name of numericFields) {
    const value = document[name];
    if (value !== undefined) hash[name] = String(value);
  }
  if (document.margin_mode !== undefined) hash.margin_mode = document.margin_mode;
  if (document.take_profit !== undefined) hash.take_profit = JSON.stringify(document.take_profit);
  for (const [name, value] of Object.entries(document.extra)) hash[name] = encodeExtra(value);
  return hash;
}

/** The fields only (no server fields), for legacy values and writes. */
export function encodeFields(fields: PositionFields): Record<string, string> {
  const { id: _id, opened_at: _o, updated_at: _u, ...hash } = encodePosition({ ...fields, id: "", opened_at: "", updated_at: "" });
  return hash;
}

function decimal(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

function takeProfitOf(raw: string | undefined): number[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  // JSON array as written by the API, or a comma list as some bots wrote it.
  const parts = raw.trim().replace(/^\[/, "").replace(/\]$/, "").split(",");
  const numbers = parts.map((part) => decimal(part.trim()));
  return numbers.every((value) => value !== undefined) ? (numbers as number[]) : undefined;
}

function extrasOfHash(hash: Readonly<Record<string, string>>): Record<string, ExtraScalar> {
  const extra: Record<string, ExtraScalar> = {};
  let count = 0;
  for (const [name, raw] of Object.entries(hash)) {
    if (reservedFields.has(name) || !EXTRA_FIELD_NAME.test(name) || count >= MAX_EXTRA_FIELDS) continue;
    const value = decodeExtra(raw);
    if (typeof value === "string" && value.length > MAX_EXTRA_STRING_LENGTH) continue;
    extra[name] = value;
    count += 1;
  }
  return extra;
}

/**
 * A stored hash read back. Lenient: bots may write hashes themselves, so a typed field that does
 * not parse is left out rather than failing the whole read; a hash without size and entry price is
 * not a position (null).
 */
export function decodePosition(hash: Readonly<Record<string, string>> | null): PositionDocument | null {
  if (!hash) return null;
  const size = decimal(hash.size);
  const entryPrice = decimal(hash.entry_price);
  if (size === undefined || entryPrice === undefined) return null;
  const document: Record<string, unknown> = {
    id: hash.id ?? "",
    opened_at: hash.opened_at ?? "",
    updated_at: hash.updated_at ?? hash.opened_at ?? "",
    size,
    entry_price: entryPrice,
  };
  const marginMode = hash.margin_mode;
  if (marginMode !== undefined && (marginModes as readonly string[]).includes(marginMode)) document.margin_mode = marginMode as MarginMode;
  const takeProfit = takeProfitOf(hash.take_profit);
  if (takeProfit !== undefined) document.take_profit = takeProfit;
  for (const name of numericFields.slice(2)) {
    const value = decimal(hash[name]);
    if (value !== undefined) document[name] = value;
  }
  document.extra = extrasOfHash(hash);
  return document as unknown as PositionDocument;
}

/** A flat HGETALL reply ([field, value, ...]) or an object, as a record of strings. */
export function hashOf(reply: unknown): Record<string, string> | null {
  if (reply === null || reply === undefined) return null;
  if (Array.isArray(reply)) {
    if (reply.length === 0) return null;
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) hash[String(reply[i])] = String(reply[i + 1]);
    return hash;
  }
  if (typeof reply === "object") {
    const entries = Object.entries(reply as Record<string, unknown>);
    if (entries.length === 0) return null;
    return Object.fromEntries(entries.map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  }
  return null;
}
