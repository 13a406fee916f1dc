import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../../redis/keys";
import type { CacheProbe, StoredEntry } from "../model";
import type { CacheStore } from "../ports";

/**
 * Entries are `<freshUntilMs>|<stamp>|<payload>` strings; the stamp is `@` followed by every tag's
 * version and a dot (`@3.0.`), computed in Lua from the tag counters, so a read checks validity in
 * the same round trip. The `@` keeps the client from reading a stamp as a JSON number.
 */
const STAMP = `local stamp = "@"
for i = 3, #KEYS do stamp = stamp .. (redis.call("GET", KEYS[i]) or "0") .. "." end`;

/**
 * KEYS: entry, lock, tags…; ARGV: now ms, lock token ("" for none), lock ms.
 * Returns {2, entry, stamp, 0} for a fresh valid entry, else {1 (expired but valid) | 0, entry or "", stamp, locked}.
 */
const PROBE = `${STAMP}
local value = redis.call("GET", KEYS[1])
local status = 0
if value then
  local fresh, entryStamp = string.match(value, "^(%d+)|([^|]*)|")
  if fresh and entryStamp == stamp then
    if tonumber(fresh) > tonumber(ARGV[1]) then return {2, value, stamp, 0} end
    status = 1
  end
end
if status == 0 then value = "" end
local locked = 0
if ARGV[2] ~= "" and redis.call("SET", KEYS[2], ARGV[2], "NX", "PX", ARGV[3]) then locked = 1 end
return {status, value, stamp, locked}`;

/** KEYS: entry, lock, tags…; ARGV: stamp read by the fill, entry, keep ms, lock token or "". */
const WRITE_IF_UNBUMPED = `${STAMP}
local written = 0
if stamp == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
  written = 1
end
if ARGV[4] ~= "" and redis.call("GET", KEYS[2]) == ARGV[4] then redis.call("DEL", KEYS[2]) end
return written`;

const RELEASE_IF_OWNER = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

/** KEYS: tags…; ARGV: tag lifetime ms. INCR, and keep each counter alive well past any entry. */
const BUMP = `for i = 1, #KEYS do
  redis.call("INCR", KEYS[i])
  redis.call("PEXPIRE", KEYS[i], ARGV[1])
end
return #KEYS`;

function parseEntry(text: unknown): StoredEntry | null {
  if (typeof text !== "string" || text === "") return null;
  const match = /^(\d+)\|[^|]*\|/.exec(text);
  if (!match?.[1]) return null;
  return { freshUntilMs: Number(match[1]), payload: text.slice(match[0].length) };
}

/** The cache store in Redis via @upstash/redis: one script call per probe, per write and per bump. */
export class UpstashCacheStore implements CacheStore {
  private readonly probeScript;
  private readonly writeScript;
  private readonly releaseScript;
  private readonly bumpScript;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    /** Lifetime of a tag counter after its last bump: far beyond any entry's, so none outlives it. */
    private readonly tagTtlMs = 7 * 24 * 3600 * 1000,
  ) {
    this.probeScript = redis.createScript<[number, string, string, number]>(PROBE);
    this.writeScript = redis.createScript<number>(WRITE_IF_UNBUMPED);
    this.releaseScript = redis.createScript<number>(RELEASE_IF_OWNER);
    this.bumpScript = redis.createScript<number>(BUMP);
  }

  private keysOf(cache: string, key: string, tags: readonly string[]): string[] {
    return [this.keys.cacheEntry(cache, key), this.keys.cacheFillLock(cache, key), ...tags.map((tag) => this.keys.cacheTag(tag))];
  }

  async probe(cache: string, key: string, tags: readonly string[], nowMs: number, lock?: { readonly token: string; readonly ms: number }): Promise<CacheProbe> {
    const [status, value, stamp, locked] = await this.probeScript.exec(this.keysOf(cache, key, tags), [String(nowMs), lock?.token ?? "", String(lock?.ms ?? 0)]);
    const entry = parseEntry(value);
    return { fresh: status === 2 ? entry : null, stale: status === 1 ? entry : null, stamp: String(stamp), locked: locked === 1 };
  }

  async write(cache: string, key: string, tags: readonly string[], stamp: string, entry: StoredEntry, ttlMs: number, releaseToken?: string): Promise<boolean> {
    const text = `${entry.freshUntilMs}|${stamp}|${entry.payload}`;
    const written = await this.writeScript.exec(this.keysOf(cache, key, tags), [stamp, text, String(Math.max(1, Math.ceil(ttlMs))), releaseToken ?? ""]);
    return written === 1;
  }

  async release(cache: string, key: string, token: string): Promise<void> {
    await this.releaseScript.exec([this.keys.cacheFillLock(cache, key)], [token]);
  }

  async bumpTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    await this.bumpScript.exec(tags.map((tag) => this.keys.cacheTag(tag)), [String(this.tagTtlMs)]);
  }
}
