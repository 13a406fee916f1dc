import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../../redis/keys";
import type { CacheProbe, CacheWrite, StoredEntry } from "../model";
import type { CacheStore } from "../ports";

/**
 * Entries are `<freshUntilMs>|<stamp>|<payload>` strings; the stamp is `@` followed by every tag's
 * version and a dot (`@3.0.`), computed in Lua from the tag counters, so a read checks validity in
 * the same round trip. The `@` keeps the client from reading a stamp as a JSON number. A per-key
 * invalidation leaves `~<id>` (a tombstone) in the entry's place.
 */
const STAMP = `local stamp = "@"
for i = FIRST_TAG, #KEYS do stamp = stamp .. (redis.call("GET", KEYS[i]) or "0") .. "." end`;

/**
 * KEYS: entry, lock, tags…; ARGV: now ms, lock token ("" for none), lock ms.
 * Returns {2, entry, stamp, 0} for a fresh valid entry, else {1 (expired but valid) | 0, entry,
 * tombstone or "", stamp, locked}.
 */
const PROBE = `${STAMP.replace("FIRST_TAG", "3")}
local value = redis.call("GET", KEYS[1])
local status = 0
if value then
local fresh, entryStamp = string.match(value, "^(%d+)|([^|]*)|")
if fresh and entryStamp == stamp then
if tonumber(fresh) > tonumber(ARGV[1]) then return {2, value, stamp, 0} end
status = 1
end
end
if not value or (status == 0 and string.sub(value, 1, 1) ~= "~") then value = "" end
local locked = 0
if ARGV[2] ~= "" and redis.call("SET", KEYS[2], ARGV[2], "NX", "PX", ARGV[3]) then locked = 1 end
return {status, value, stamp, locked}`;

/**
 * KEYS: n entries, then the lock if ARGV[4] ~= "", then the tags; ARGV: n, stamp read by the fill,
 * now ms, lock token or "", then per entry: expected tombstone id or "", text, keep ms. (Lua is
 * left unindented: its text ships in every bundle that caches.)
 * An entry is written if the stamp is unchanged and its slot holds the expected tombstone, or,
 * expecting none, holds no tombstone and no fresh entry of this stamp (another filler's).
 */
const WRITE_IF_UNCHANGED = `local n = tonumber(ARGV[1])
local firstTag = n + 1
if ARGV[4] ~= "" then firstTag = n + 2 end
${STAMP.replace("FIRST_TAG", "firstTag")}
local written = {}
for i = 1, n do
local base = 5 + (i - 1) * 3
local ok = 0
if stamp == ARGV[2] then
local current = redis.call("GET", KEYS[i])
if ARGV[base] ~= "" then
if current == "~" .. ARGV[base] then ok = 1 end
elseif not current then
ok = 1
elseif string.sub(current, 1, 1) ~= "~" then
local fresh, entryStamp = string.match(current, "^(%d+)|([^|]*)|")
if not (fresh and entryStamp == stamp and tonumber(fresh) > tonumber(ARGV[3])) then ok = 1 end
end
end
if ok == 1 then redis.call("SET", KEYS[i], ARGV[base + 1], "PX", ARGV[base + 2]) end
written[i] = ok
end
if ARGV[4] ~= "" and redis.call("GET", KEYS[n + 1]) == ARGV[4] then redis.call("DEL", KEYS[n + 1]) end
return written`;

/** KEYS: tags…; ARGV: tag lifetime ms. INCR, and keep each counter alive well past any entry. */
const BUMP = `for i = 1, #KEYS do
redis.call("INCR", KEYS[i])
redis.call("PEXPIRE", KEYS[i], ARGV[1])
end
return #KEYS`;

const UNTAGGED = "@";

function parseEntry(text: string): { entry: StoredEntry; stamp: string } | null {
  const match = /^(\d+)\|([^|]*)\|/.exec(text);
  if (!match?.[1]) return null;
  return { entry: { freshUntilMs: Number(match[1]), payload: text.slice(match[0].length) }, stamp: match[2] ?? "" };
}

/**
 * One tombstone (ARGV[1], for ARGV[2] ms) on every key, in one command: an import batch tombstones
 * thousands, and a pipeline of one SET each costs the REST endpoint about ten times as much.
 */
const TOMBSTONE_ALL = `for _, key in ipairs(KEYS) do redis.call("SET", key, ARGV[1], "PX", ARGV[2]) end
return #KEYS`;

const tombstoneOf = (text: string): string | null => (text.startsWith("~") ? text.slice(1) : null);

/** An untagged slot as MGET returns it: fresh, expired (stale candidate), a tombstone, or nothing. */
function untaggedProbe(value: unknown, nowMs: number): CacheProbe {
  const text = typeof value === "string" ? value : "";
  const parsed = parseEntry(text);
  const valid = parsed && parsed.stamp === UNTAGGED ? parsed.entry : null;
  const fresh = valid && valid.freshUntilMs > nowMs ? valid : null;
  return { fresh, stale: fresh ? null : valid, stamp: UNTAGGED, locked: false, slot: tombstoneOf(text) };
}

/** The cache store in Redis via @upstash/redis: one call per probe (or batch of probes), write, tombstone set and bump. */
export class UpstashCacheStore implements CacheStore {
  private readonly probeScript;
  private readonly writeScript;
  private readonly bumpScript;
  private readonly tombstoneScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    /** Lifetime of a tag counter after its last bump: far beyond any entry's, so none outlives it. */
    private readonly tagTtlMs = 7 * 24 * 3600 * 1000,
  ) {
    this.probeScript = redis.createScript<[number, string, string, number]>(PROBE);
    this.writeScript = redis.createScript<number[]>(WRITE_IF_UNCHANGED);
    this.bumpScript = redis.createScript<number>(BUMP);
    this.tombstoneScript = redis.createScript<number>(TOMBSTONE_ALL);
  }

  async probe(cache: string, key: string, tags: readonly string[], nowMs: number, lock?: { readonly token: string; readonly ms: number }): Promise<CacheProbe> {
    const keys = [this.keys.cacheEntry(cache, key), this.keys.cacheFillLock(cache, key), ...tags.map((tag) => this.keys.cacheTag(tag))];
    const [status, value, stamp, locked] = await this.probeScript.exec(keys, [String(nowMs), lock?.token ?? "", String(lock?.ms ?? 0)]);
    const text = String(value);
    const entry = parseEntry(text)?.entry ?? null;
    return { fresh: status === 2 ? entry : null, stale: status === 1 ? entry : null, stamp: String(stamp), locked: locked === 1, slot: tombstoneOf(text) };
  }

  async probeMany(cache: string, keys: readonly string[], nowMs: number): Promise<CacheProbe[]> {
    if (keys.length === 0) return [];
    const values = await this.redis.mget<unknown[]>(...keys.map((key) => this.keys.cacheEntry(cache, key)));
    return values.map((value) => untaggedProbe(value, nowMs));
  }

  async write(cache: string, write: CacheWrite): Promise<boolean[]> {
    const keys = write.entries.map((entry) => this.keys.cacheEntry(cache, entry.key));
    const args = [String(write.entries.length), write.stamp, String(write.nowMs), write.release?.token ?? ""];
    for (const { expectedSlot, entry, keepMs } of write.entries) {
      args.push(expectedSlot ?? "", `${entry.freshUntilMs}|${write.stamp}|${entry.payload}`, String(Math.max(1, Math.ceil(keepMs))));
    }
    if (write.release) keys.push(this.keys.cacheFillLock(cache, write.release.key));
    keys.push(...write.tags.map((tag) => this.keys.cacheTag(tag)));
    const written = await this.writeScript.exec(keys, args);
    return written.map((flag) => flag === 1);
  }

  /** A write of no entry: only the owner-checked release. */
  async release(cache: string, key: string, token: string): Promise<void> {
    await this.write(cache, { tags: [], stamp: "@", nowMs: 0, entries: [], release: { key, token } });
  }

  async tombstone(cache: string, keys: readonly string[], id: string, ms: number): Promise<void> {
    if (keys.length === 0) return;
    await this.tombstoneScript.exec(keys.map((key) => this.keys.cacheEntry(cache, key)), [`~${id}`, String(ms)]);
  }

  async bumpTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    await this.bumpScript.exec(tags.map((tag) => this.keys.cacheTag(tag)), [String(this.tagTtlMs)]);
  }
}
