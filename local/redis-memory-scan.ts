import { RedisReplyError } from "./redis-backend";
import type { RawReply } from "./redis-backend";

/**
 * SCAN with Redis' contract, which ioredis-mock's does not keep: its cursor is an index into the
 * current key list, so a key deleted behind the cursor makes the walk skip one it never returned
 * (a sync that deletes or rewrites as it walks loses keys), it refuses `COUNT n MATCH p` in that
 * order and knows no TYPE. Here the keys are visited in the order of a hash of their name and the
 * cursor is the next hash to visit, so every key present for the whole walk is returned once,
 * whatever is added or deleted meanwhile. COUNT is how many keys a call examines (default 10),
 * MATCH and TYPE filter what they found, as in Redis: a page may be empty before the walk ends.
 */

export interface ScanKeyspace {
  /** Every live key matching a Redis glob pattern (as KEYS answers). */
  keys(pattern: string): string[];
  /** As TYPE answers ("none" when missing). */
  typeOf(key: string): string;
}

interface ScanOptions {
  readonly from: number;
  readonly count: number;
  readonly match: string | undefined;
  readonly type: string | undefined;
}

export function scanKeyspace(args: readonly string[], keyspace: ScanKeyspace): RawReply {
  const options = scanOptions(args);
  if (options instanceof RedisReplyError) return options;
  const ordered = keyspace.keys("*").map((key) => ({ key, hash: hashOf(key) })).filter((entry) => entry.hash >= options.from);
  ordered.sort((a, b) => a.hash - b.hash || (a.key < b.key ? -1 : 1));
  let end = Math.min(options.count, ordered.length);
  // Keys of one hash go out in one call, or a cursor between them could not say where to resume.
  while (end < ordered.length && end > 0 && ordered[end]!.hash === ordered[end - 1]!.hash) end++;
  const next = end < ordered.length ? String(ordered[end]!.hash + 1) : "0";
  const matching = options.match === undefined ? undefined : new Set(keyspace.keys(options.match));
  const found = ordered
    .slice(0, end)
    .map((entry) => entry.key)
    .filter((key) => (matching === undefined || matching.has(key)) && (options.type === undefined || keyspace.typeOf(key) === options.type));
  return [next, found];
}

/** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], options in any order and case. */
function scanOptions(args: readonly string[]): ScanOptions | RedisReplyError {
  const [cursorArg = "", ...rest] = args;
  if (!/^\d+$/.test(cursorArg) || Number(cursorArg) > 2 ** 32) return new RedisReplyError("ERR invalid cursor");
  const cursor = Number(cursorArg);
  const options = { from: cursor === 0 ? 0 : cursor - 1, count: 10, match: undefined as string | undefined, type: undefined as string | undefined };
  for (let i = 0; i < rest.length; i += 2) {
    const option = rest[i]!.toUpperCase();
    const value = rest[i + 1];
    if (value === undefined) return new RedisReplyError("ERR syntax error");
    if (option === "MATCH") options.match = value;
    else if (option === "TYPE") options.type = value.toLowerCase();
    else if (option === "COUNT") {
      if (!/^-?\d+$/.test(value)) return new RedisReplyError("ERR value is not an integer or out of range");
      if (Number(value) < 1) return new RedisReplyError("ERR syntax error");
      options.count = Number(value);
    } else return new RedisReplyError("ERR syntax error");
  }
  return options;
}

/** 32-bit FNV-1a of the key's UTF-16 code units: a fixed place for each key name. */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
