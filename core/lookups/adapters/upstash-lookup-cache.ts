import type { Redis } from "@upstash/redis";
import { randomIds } from "../../clock";
import type { IdGenerator } from "../../clock";
import type { RedisKeys } from "../../redis/keys";
import type { Identifier } from "../identifier";
import type { CachedLookup } from "../model";
import type { CacheRead, CacheWrite, LookupCache } from "../ports";

/**
 * An invalidation does not delete an entry: it leaves a tombstone with an id of its own for a few
 * seconds. A fill writes back only if the slot still holds what it read before querying the
 * database (nothing, or the same tombstone), so a fill that read the old row before an admin change
 * cannot put the old answer back after it, while fills that started later cache at once.
 */
const TOMBSTONE_PREFIX = '{"kind":"tombstone","id":"';
const tombstone = (id: string) => `${TOMBSTONE_PREFIX}${id}"}`;

/**
 * Tombstones every key given in one command (a pipeline of thousands of SETs costs the REST
 * endpoint about ten times as much). ARGV: the TTL in ms, then each key's tombstone.
 */
const TOMBSTONE_ALL = `for i, key in ipairs(KEYS) do redis.call("SET", key, ARGV[i + 1], "PX", ARGV[1]) end
return #KEYS`;

/** Deletes the lock only if it still holds our token: an expired lock may belong to another filler now. */
const RELEASE_IF_OWNER = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

/** The entry if there is one; otherwise the fill lock (SET NX PX) and the slot's tombstone, in one round trip. */
const GET_OR_LOCK = `local value = redis.call("GET", KEYS[1])
if value and string.sub(value, 1, #ARGV[3]) ~= ARGV[3] then return {1, value} end
local locked = 0
if redis.call("SET", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then locked = 1 end
return {0, locked, value or ""}`;

/**
 * Compare-and-set of several slots, then (optionally) the owner-checked release of a fill lock.
 * ARGV: n, then per entry (expected slot text or "", value, ttl seconds), then the lock token.
 */
const WRITE_IF_UNCHANGED = `local n = tonumber(ARGV[1])
for i = 1, n do
  local base = 1 + (i - 1) * 3
  local current = redis.call("GET", KEYS[i]) or ""
  if current == ARGV[base + 1] then redis.call("SET", KEYS[i], ARGV[base + 2], "EX", ARGV[base + 3]) end
end
if #KEYS > n and redis.call("GET", KEYS[n + 1]) == ARGV[n * 3 + 2] then redis.call("DEL", KEYS[n + 1]) end
return n`;

/** Reads one stored slot: an entry, a tombstone (its id), or nothing. The client may or may not have parsed the JSON. */
function readSlot(value: unknown): CacheRead {
  let parsed = value;
  if (typeof value === "string") {
    if (value === "") return { entry: null, slot: null };
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      return { entry: null, slot: null };
    }
  }
  if (!parsed || typeof parsed !== "object" || !("kind" in parsed)) return { entry: null, slot: null };
  if (parsed.kind === "tombstone" && "id" in parsed && typeof parsed.id === "string") return { entry: null, slot: parsed.id };
  return parsed.kind === "hit" || parsed.kind === "miss" ? { entry: parsed as CachedLookup, slot: null } : { entry: null, slot: null };
}

/** Lookup cache in Redis via @upstash/redis: one MGET (or one script) per read, one script per write. */
export class UpstashLookupCache implements LookupCache {
  /** Tokens of the fill locks this container holds (singleflight means one per identifier). */
  private readonly lockTokens = new Map<string, string>();
  private readonly releaseScript;
  private readonly getOrLockScript;
  private readonly writeScript;
  private readonly tombstoneScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ids: IdGenerator = randomIds,
    /** Longer than the slowest fill (a legacy call included). */
    private readonly tombstoneMs = 5_000,
  ) {
    this.releaseScript = redis.createScript<number>(RELEASE_IF_OWNER);
    this.getOrLockScript = redis.createScript<[number, unknown, unknown?]>(GET_OR_LOCK);
    this.writeScript = redis.createScript<number>(WRITE_IF_UNCHANGED);
    this.tombstoneScript = redis.createScript<number>(TOMBSTONE_ALL);
  }

  private keyOf(identifier: Identifier): string {
    return this.keys.lookup(identifier.kind, identifier.value);
  }

  async getMany(identifiers: readonly Identifier[]): Promise<CacheRead[]> {
    if (identifiers.length === 0) return [];
    const values = await this.redis.mget<unknown[]>(...identifiers.map((id) => this.keyOf(id)));
    return values.map(readSlot);
  }

  async getOrLockFill(identifier: Identifier, ttlMs: number): Promise<CacheRead & { locked: boolean }> {
    const lockKey = this.keys.lookupFillLock(identifier.kind, identifier.value);
    const token = this.ids.uuid();
    const [found, payload, current] = await this.getOrLockScript.exec(
      [this.keyOf(identifier), lockKey],
      [token, String(ttlMs), TOMBSTONE_PREFIX],
    );
    if (found === 1) return { ...readSlot(payload), locked: false };
    const locked = payload === 1;
    if (locked) this.lockTokens.set(lockKey, token);
    return { ...readSlot(current), locked };
  }

  async setMany(entries: readonly CacheWrite[], releaseFillOf?: Identifier): Promise<void> {
    const release = releaseFillOf ? this.takeLockToken(releaseFillOf) : undefined;
    if (entries.length === 0 && !release) return;
    const keys = entries.map((entry) => this.keyOf(entry.identifier));
    const args = [String(entries.length)];
    for (const entry of entries) {
      args.push(entry.expectedSlot ? tombstone(entry.expectedSlot) : "", JSON.stringify(entry.value), String(entry.ttlSeconds));
    }
    if (release) {
      keys.push(release.key);
      args.push(release.token);
    }
    await this.writeScript.exec(keys, args);
  }

  async invalidate(identifiers: readonly Identifier[]): Promise<void> {
    if (identifiers.length === 0) return;
    const keys = identifiers.map((id) => this.keyOf(id));
    await this.tombstoneScript.exec(keys, [String(this.tombstoneMs), ...identifiers.map(() => tombstone(this.ids.uuid()))]);
  }

  async releaseFill(identifier: Identifier): Promise<void> {
    const release = this.takeLockToken(identifier);
    if (release) await this.releaseScript.exec([release.key], [release.token]);
  }

  private takeLockToken(identifier: Identifier): { key: string; token: string } | undefined {
    const key = this.keys.lookupFillLock(identifier.kind, identifier.value);
    const token = this.lockTokens.get(key);
    if (token === undefined) return undefined;
    this.lockTokens.delete(key);
    return { key, token };
  }
}
