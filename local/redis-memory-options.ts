import { RedisReplyError } from "./redis-backend";
import type { RawReply } from "./redis-backend";
import { scanKeyspace } from "./redis-memory-scan";
import type { ScanKeyspace } from "./redis-memory-scan";

/**
 * Where ioredis-mock reads a command differently from Redis, the command as the mock should get it
 * (or the reply, decided here). @upstash/redis sends option words in lower case (`zadd key nx`,
 * `linsert key before`, `hscan key 0 match p`), which Redis reads in any case and the mock only in
 * upper case: it refuses some ("ERR syntax error") and silently drops others (SET's `nx`, `px`).
 * Everything here is synchronous, so a transaction stays atomic.
 */

/** What the engine knows synchronously: which keys exist, and their expiry (absolute ms). */
export interface MockKeyspace extends ScanKeyspace {
  exists(key: string): boolean;
  expiresAt(key: string): number | undefined;
  /** A sorted set member's score; undefined when the member (or the set) is missing. */
  scoreOf(key: string, member: string): number | undefined;
}

export type MockCommand =
  | {
      readonly name: string;
      readonly args: string[];
      /** Applied to the mock's reply (already in RESP shape). */
      readonly then?: (reply: RawReply) => RawReply;
    }
  | { readonly reply: RawReply };

const ZADD_OPTIONS = new Set(["NX", "XX", "GT", "LT", "CH", "INCR"]);
const EXPIRE_OPTIONS = new Set(["NX", "XX", "GT", "LT"]);

/** `name` is lower-case. */
export function adaptForMock(name: string, args: string[], keyspace: MockKeyspace, now: number): MockCommand {
  switch (name) {
    case "set":
      // The options follow the key and the value; upper-casing their numbers changes nothing.
      return { name, args: upperFrom(args, 2) };
    case "zadd":
      return zaddForMock(leadingOptionsUpper(args, 1, ZADD_OPTIONS), keyspace);
    case "linsert":
      return { name, args: upperAt(args, [1]) };
    case "lmove":
      // BLMOVE reaches here as LMOVE (its emulation retries LMOVE).
      return { name, args: upperAt(args, [2, 3]) };
    case "getrange":
      // The mock throws for a missing key; Redis answers an empty string.
      return args[0] !== undefined && !keyspace.exists(args[0]) ? { reply: "" } : { name, args };
    case "scan":
      return { reply: scanKeyspace(args, keyspace) };
    case "sscan":
    case "hscan":
    case "zscan":
      return { name, args: optionWordsUpper(args, 2) };
    case "touch":
      // No access times here: touching changes nothing, and the answer is how many of the keys exist.
      return { name: "exists", args };
    case "expire":
    case "pexpire":
    case "expireat":
    case "pexpireat":
      return expireWithCondition(name, args, keyspace, now);
    default:
      return { name, args };
  }
}

function upperFrom(args: string[], from: number): string[] {
  return args.length <= from ? args : [...args.slice(0, from), ...args.slice(from).map((arg) => arg.toUpperCase())];
}

function upperAt(args: string[], positions: readonly number[]): string[] {
  return args.map((arg, i) => (positions.includes(i) ? arg.toUpperCase() : arg));
}

/** ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...: the options before the first score. */
function leadingOptionsUpper(args: string[], from: number, options: ReadonlySet<string>): string[] {
  const out = [...args];
  for (let i = from; i < out.length && options.has(out[i]!.toUpperCase()); i++) out[i] = out[i]!.toUpperCase();
  return out;
}

/** HSCAN key cursor [MATCH p] [COUNT n]: every option takes one value, which keeps its case. */
function optionWordsUpper(args: string[], from: number): string[] {
  const out = [...args];
  for (let i = from; i < out.length; i += 2) out[i] = out[i]!.toUpperCase();
  return out;
}

/**
 * ZADD: the mock knows neither GT / LT nor what INCR answers (it gives the count, Redis the new
 * score). GT / LT are decided here per member against its current score (new members are always
 * added), the mock getting the pairs that remain; INCR becomes ZINCRBY once NX / XX / GT / LT hold,
 * and a refused one answers nil, as Redis does.
 */
function zaddForMock(args: string[], keyspace: MockKeyspace): MockCommand {
  const [key = "", ...rest] = args;
  const options = new Set<string>();
  while (rest.length > 0 && ZADD_OPTIONS.has(rest[0]!)) options.add(rest.shift()!);
  const gt = options.has("GT");
  const lt = options.has("LT");
  if (options.has("INCR")) {
    if (rest.length !== 2) return { name: "zadd", args };
    const [increment = "", member = ""] = rest;
    const current = keyspace.scoreOf(key, member);
    const refused =
      (options.has("NX") && current !== undefined) ||
      (options.has("XX") && current === undefined) ||
      (current !== undefined && ((gt && !(Number(increment) > 0)) || (lt && !(Number(increment) < 0))));
    return refused ? { reply: null } : { name: "zincrby", args: [key, increment, member] };
  }
  if (!gt && !lt) return { name: "zadd", args };
  if ((gt && lt) || options.has("NX")) return { reply: new RedisReplyError("ERR GT, LT, and/or NX options at the same time are not compatible") };
  if (rest.length === 0 || rest.length % 2 !== 0) return { reply: new RedisReplyError("ERR syntax error") };
  const kept: string[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const current = keyspace.scoreOf(key, rest[i + 1]!);
    const score = Number(rest[i]);
    if (current === undefined || (gt ? score > current : score < current)) kept.push(rest[i]!, rest[i + 1]!);
  }
  if (kept.length === 0) return { reply: 0 };
  return { name: "zadd", args: [key, ...[...options].filter((option) => option !== "GT" && option !== "LT"), ...kept] };
}

/**
 * EXPIRE key n [NX|XX|GT|LT] (Redis 7): the mock ignores the condition and always sets the expiry.
 * Decided here against the key's current expiry (none counts as infinite, as in Redis); when it
 * holds, the mock gets the command without it.
 */
function expireWithCondition(name: string, args: string[], keyspace: MockKeyspace, now: number): MockCommand {
  const [key, amount, option, ...rest] = args;
  if (key === undefined || amount === undefined || option === undefined || rest.length > 0) return { name, args };
  const condition = option.toUpperCase();
  if (!EXPIRE_OPTIONS.has(condition)) return { name, args };
  const value = Number(amount);
  if (!Number.isInteger(value)) return { name, args: [key, amount] };
  if (!keyspace.exists(key)) return { reply: 0 };
  const wanted = name === "expire" ? now + value * 1000 : name === "pexpire" ? now + value : name === "expireat" ? value * 1000 : value;
  const current = keyspace.expiresAt(key) ?? Number.POSITIVE_INFINITY;
  const holds =
    condition === "NX" ? current === Number.POSITIVE_INFINITY
    : condition === "XX" ? current !== Number.POSITIVE_INFINITY
    : condition === "GT" ? wanted > current
    : wanted < current;
  return holds ? { name, args: [key, amount] } : { reply: 0 };
}
