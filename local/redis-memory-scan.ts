import { RedisReplyError } from "./redis-backend";
import type { RawReply } from "./redis-backend";

/**
 * SCAN with Redis' contract, which ioredis-mock's does not keep: its cursor is an index into the
 * current key list, so a key added or deleted anywhere during a walk shifts it and the walk skips
 * keys or returns them twice (a migration moving what it read loses keys; so does a walk while
 * other clients write), it refuses `COUNT n MATCH p` in that order and knows no TYPE. Here the keys are visited in the order of a hash of their name and the
 * cursor is the next hash to visit, so every key present for the whole walk is returned once,
 * whatever is added or deleted meanwhile. COUNT is how many keys a call examines (default 10),
 * MATCH and TYPE filter what they found, as in Redis: a page may be empty before the walk ends.
 * Each call hashes the key names and sorts the hashes still ahead: linear-logarithmic in the
 * keyspace, which suits a development engine.
 */

export interface ScanKeyspace {
  /** Every key not expired. */
  liveKeys(): string[];
  /** Those of `keys` matching a Redis glob pattern (as KEYS matches). */
  matching(pattern: string, keys: string[]): string[];
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
  const keys = keyspace.liveKeys();
  const hashes = new Float64Array(keys.length);
  const ahead: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    hashes[i] = hashOf(keys[i]!);
    if (hashes[i]! >= options.from) ahead.push(hashes[i]!);
  }
  // The hashes still to visit, in order: the page ends at the count-th (all keys of that hash
  // included, or a cursor between them could not say where to resume).
  const sorted = Float64Array.from(ahead).sort();
  const last = sorted.length > options.count ? sorted[options.count - 1]! : Number.POSITIVE_INFINITY;
  let after = options.count;
  while (after < sorted.length && sorted[after] === last) after++;
  const page: string[] = [];
  for (let i = 0; i < keys.length; i++) if (hashes[i]! >= options.from && hashes[i]! <= last) page.push(keys[i]!);
  const matched = options.match === undefined ? page : keyspace.matching(options.match, page);
  const found = options.type === undefined ? matched : matched.filter((key) => keyspace.typeOf(key) === options.type);
  return [after < sorted.length ? String(sorted[after]! + 1) : "0", found];
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
