import { createReadStream } from "node:fs";
import { extname } from "node:path";
import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../redis/keys";
import type { ImportRecord } from "./import";

/**
 * Where mapping imports read from. Every source yields one record per row / key, in order, with an
 * `origin` naming it (`path:line`, the Redis key); what it cannot read becomes an unreadable record
 * (counted invalid with the reason) rather than an exception, so one bad row never stops an import.
 *
 * Column / field names, in JSONL objects and CSV headers alike: `telegram_id` or `telegramId`
 * (required), `okx_uid` / `okxUid`, `user_id` / `userId`, `is_active` / `isActive`; others are
 * ignored. An empty value means "not given"; in JSONL `"okx_uid": null` clears the okx uid.
 */

type Chunks = AsyncIterable<string | Buffer> | Iterable<string | Buffer>;

const FIELDS = {
  telegramId: ["telegram_id", "telegramId"],
  okxUid: ["okx_uid", "okxUid"],
  userId: ["user_id", "userId"],
  isActive: ["is_active", "isActive"],
} as const;
type Field = keyof typeof FIELDS;

class Unreadable extends Error {}

/** Lines of a text stream, numbered from 1, without line ends or a leading BOM. */
async function* numberedLines(chunks: Chunks): AsyncGenerator<{ line: number; text: string }> {
  let pending = "";
  let line = 0;
  let first = true;
  for await (const chunk of chunks) {
    pending += typeof chunk === "string" ? chunk : chunk.toString("utf8");
    if (first && pending.length > 0) {
      pending = pending.replace(/^\uFEFF/, "");
      first = false;
    }
    let end: number;
    while ((end = pending.indexOf("\n")) >= 0) {
      yield { line: ++line, text: pending.slice(0, end).replace(/\r$/, "") };
      pending = pending.slice(end + 1);
    }
  }
  if (pending.length > 0) yield { line: ++line, text: pending.replace(/\r$/, "") };
}

/** JSON Lines: one object per line; blank lines are skipped. */
export async function* jsonlRecords(chunks: Chunks, name: string): AsyncGenerator<ImportRecord> {
  for await (const { line, text } of numberedLines(chunks)) {
    if (text.trim() === "") continue;
    const origin = `${name}:${line}`;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // `"okx_uid": 018796558012178692`: JSON numbers cannot start with 0 (nor hold 18 digits exactly).
      const zeroLed = /:\s*-?0[0-9]/.test(text);
      yield { origin, unreadable: zeroLed ? "not valid JSON: a number starts with 0; write identifiers as strings" : "not valid JSON" };
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      yield { origin, unreadable: "not a JSON object" };
      continue;
    }
    const object = value as Record<string, unknown>;
    yield toRecord(origin, (field) => {
      const [snake, camel] = FIELDS[field];
      const a = object[snake];
      const b = object[camel];
      if (a !== undefined && b !== undefined && a !== b) throw new Unreadable(`${snake} and ${camel} disagree`);
      return a !== undefined ? a : b; // not `??`: an explicit null must survive
    });
  }
}

/** One CSV record: its fields and the line it starts on; `broken` when a quoted field never ends. */
interface CsvRow {
  readonly line: number;
  readonly fields: string[];
  readonly broken?: string;
}

/**
 * RFC 4180 records, fed text as it arrives: `,` separated, fields optionally in double quotes
 * (which may hold commas, newlines and `""` for a quote), LF or CRLF line ends, blank lines skipped.
 */
class CsvParser {
  private fields: string[] = [];
  private field = "";
  /** The current field started with a quote. */
  private quoted = false;
  private inQuotes = false;
  /** Inside quotes, the last character was a quote (the end, or the first of `""`). */
  private quoteSeen = false;
  private line = 1;
  private rowLine = 1;

  /** The records completed by this text. */
  feed(text: string): CsvRow[] {
    const rows: CsvRow[] = [];
    for (const ch of text) {
      if (this.inQuotes && this.quotedChar(ch)) continue;
      const row = this.plainChar(ch);
      if (row) rows.push(row);
    }
    return rows;
  }

  /** The last record, if the text did not end with a line end. */
  end(): CsvRow[] {
    if (this.inQuotes && !this.quoteSeen) {
      this.fields.push(this.field);
      return [{ line: this.rowLine, fields: this.fields, broken: "a quoted field is never closed" }];
    }
    const row = this.endRow();
    return row ? [row] : [];
  }

  /** A character inside quotes; false when it closed them and must be read as unquoted. */
  private quotedChar(ch: string): boolean {
    if (this.quoteSeen) {
      this.quoteSeen = false;
      if (ch === '"') {
        this.field += '"';
        return true;
      }
      this.inQuotes = false;
      return false;
    }
    if (ch === '"') this.quoteSeen = true;
    else {
      if (ch === "\n") this.line += 1;
      this.field += ch;
    }
    return true;
  }

  private plainChar(ch: string): CsvRow | null {
    if (ch === '"' && this.field === "" && !this.quoted) {
      this.inQuotes = true;
      this.quoted = true;
    } else if (ch === ",") {
      this.fields.push(this.field);
      this.field = "";
      this.quoted = false;
    } else if (ch === "\n") {
      const row = this.endRow();
      this.line += 1;
      this.rowLine = this.line;
      return row;
    } else if (ch !== "\r") {
      this.field += ch;
    }
    return null;
  }

  private endRow(): CsvRow | null {
    this.fields.push(this.field);
    const row = this.fields.length === 1 && this.field === "" && !this.quoted ? null : { line: this.rowLine, fields: this.fields };
    this.fields = [];
    this.field = "";
    this.quoted = false;
    return row;
  }
}

/** The records of a text stream (see CsvParser), without a leading BOM. */
async function* csvRows(chunks: Chunks): AsyncGenerator<CsvRow> {
  const parser = new CsvParser();
  let first = true;
  for await (const chunk of chunks) {
    let text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
    if (first && text.length > 0) {
      text = text.replace(/^\uFEFF/, "");
      first = false;
    }
    yield* parser.feed(text);
  }
  yield* parser.end();
}

/** CSV with a header row naming the columns. */
export async function* csvRecords(chunks: Chunks, name: string): AsyncGenerator<ImportRecord> {
  let columns: Partial<Record<Field, number>> | undefined;
  let width = 0;
  for await (const row of csvRows(chunks)) {
    const origin = `${name}:${row.line}`;
    if (!columns) {
      if (row.broken) throw new Error(`${origin}: the CSV header is malformed (${row.broken})`);
      columns = headerColumns(row.fields);
      width = row.fields.length;
      if (columns.telegramId === undefined) throw new Error(`${name}: the CSV header has no telegram_id column`);
      continue;
    }
    if (row.broken) {
      yield { origin, unreadable: row.broken };
      continue;
    }
    if (row.fields.length !== width) {
      yield { origin, unreadable: `has ${row.fields.length} fields, the header has ${width}` };
      continue;
    }
    const found = columns;
    yield toRecord(origin, (field) => {
      const at = found[field];
      return at === undefined ? undefined : row.fields[at];
    });
  }
}

function headerColumns(names: readonly string[]): Partial<Record<Field, number>> {
  const columns: Partial<Record<Field, number>> = {};
  names.forEach((raw, index) => {
    const name = raw.trim();
    for (const [field, aliases] of Object.entries(FIELDS) as [Field, readonly string[]][]) {
      if (aliases.includes(name) && columns[field] === undefined) columns[field] = index;
    }
  });
  return columns;
}

/** A JSONL (`.jsonl`, `.ndjson`) or CSV (`.csv`) file, streamed. */
export function fileRecords(path: string): AsyncIterable<ImportRecord> {
  const format = importFileFormat(path);
  if (!format) throw new Error(`${path}: unknown file type; use .jsonl, .ndjson or .csv`);
  const stream = createReadStream(path, { encoding: "utf8" });
  return format === "csv" ? csvRecords(stream, path) : jsonlRecords(stream, path);
}

export function importFileFormat(path: string): "jsonl" | "csv" | null {
  const extension = extname(path).toLowerCase();
  if (extension === ".jsonl" || extension === ".ndjson") return "jsonl";
  if (extension === ".csv") return "csv";
  return null;
}

export interface LegacyRedisOptions {
  /** SCAN COUNT: keys examined per round trip (a hint to Redis, not a limit on matches). */
  readonly count?: number | undefined;
}

/**
 * The old registration hashes (`user:{okx_uid}:api:keys`, `user:{okx_uid}:preferences`, system B)
 * that carry a `telegram_id` field: SCAN with MATCH and COUNT over each pattern (never KEYS), then
 * one pipelined HGET per page. Only `telegram_id` is read — never the API keys next to it. The okx
 * uid comes from the key name. A key SCAN returns twice is read once.
 */
export async function* legacyRedisRecords(
  redis: Redis,
  keys: RedisKeys,
  options: LegacyRedisOptions = {},
): AsyncGenerator<ImportRecord> {
  const count = options.count ?? 500;
  const seen = new Set<string>();
  for (const match of keys.legacyRegistrationPatterns()) {
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, { match, count });
      cursor = String(next);
      const fresh = found.map(String).filter((key) => !seen.has(key));
      for (const key of fresh) seen.add(key);
      const named = fresh.map((key) => ({ key, okxUid: keys.okxUidOfLegacyKey(key) }));
      const readable = named.filter((entry): entry is { key: string; okxUid: string } => entry.okxUid !== null);
      const replies = readable.length > 0 ? await readTelegramIds(redis, readable.map((entry) => entry.key)) : [];
      const byKey = new Map(readable.map((entry, i) => [entry.key, replies[i]]));
      for (const { key, okxUid } of named) {
        if (okxUid === null) {
          yield { origin: key, unreadable: "key does not follow the user:{okx_uid}:… layout" };
          continue;
        }
        const reply = byKey.get(key);
        if (!reply || reply.error !== undefined) {
          yield { origin: key, unreadable: `cannot read telegram_id: ${reply?.error ?? "no reply"}` };
          continue;
        }
        yield toRecord(key, (field) => (field === "telegramId" ? reply.value : field === "okxUid" ? okxUid : undefined));
      }
    } while (cursor !== "0");
  }
}

async function readTelegramIds(redis: Redis, keyNames: readonly string[]): Promise<{ value: unknown; error?: string }[]> {
  const pipeline = redis.pipeline();
  for (const key of keyNames) pipeline.hget(key, "telegram_id");
  const replies = await pipeline.exec<unknown[]>({ keepErrors: true });
  return replies.map((reply) => (reply.error ? { value: null, error: reply.error } : { value: reply.result }));
}

/** Turns raw field values into a candidate, or an unreadable record saying which field is wrong. */
function toRecord(origin: string, get: (field: Field) => unknown): ImportRecord {
  try {
    const telegramId = get("telegramId");
    const isBlank = (value: unknown) => value === undefined || value === null || (typeof value === "string" && value.trim() === "");
    if (isBlank(telegramId)) return { origin, unreadable: "no telegram_id" };
    return {
      origin,
      telegramId: text("telegram_id", telegramId),
      okxUid: okxUidValue(get("okxUid")),
      userId: isBlank(get("userId")) ? undefined : text("user_id", get("userId")),
      isActive: booleanValue(get("isActive")),
    };
  } catch (error) {
    if (error instanceof Unreadable) return { origin, unreadable: error.message };
    throw error;
  }
}

function text(name: string, value: unknown): string {
  if (typeof value === "string") return value.trim();
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Unreadable(`${name} is a number too large to be exact; write it as a string`);
    return String(value);
  }
  throw new Unreadable(`${name} must be a string or a number`);
}

function okxUidValue(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (value === undefined || (typeof value === "string" && value.trim() === "")) return undefined;
  return text("okx_uid", value);
}

const TRUE = new Set(["true", "t", "yes", "y", "1"]);
const FALSE = new Set(["false", "f", "no", "n", "0"]);

function booleanValue(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  const word = String(value).trim().toLowerCase();
  if (word === "") return undefined;
  if (TRUE.has(word)) return true;
  if (FALSE.has(word)) return false;
  throw new Unreadable("is_active must be true or false");
}
