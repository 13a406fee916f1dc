import type { Redis } from "@upstash/redis";
import { randomIds } from "../clock";
import type { IdGenerator } from "../clock";
import type { RedisKeys } from "../redis/keys";
import type { Identifier } from "./identifier";
import type { CachedLookup } from "./model";
import type { CacheWrite, LookupCache } from "./ports";

/** Deletes the lock only if it still holds our token: an expired lock may belong to another filler now. */
const RELEASE_IF_OWNER = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

/** The entry if there is one; otherwise the fill lock (SET NX PX) in the same round trip. */
const GET_OR_LOCK = `local value = redis.call("GET", KEYS[1])
if value then return {1, value} end
if redis.call("SET", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then return {0, 1} end
return {0, 0}`;

/** The client deserialises JSON replies of commands, but a script's nested strings may stay text. */
function asCachedLookup(value: unknown): CachedLookup | null {
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      return null;
    }
  }
  return parsed && typeof parsed === "object" && "kind" in parsed ? (parsed as CachedLookup) : null;
}

/** Lookup cache in Redis via @upstash/redis: one MGET per read, one pipeline per write. */
export class UpstashLookupCache implements LookupCache {
  /** Tokens of the fill locks this container holds (singleflight means one per identifier). */
  private readonly lockTokens = new Map<string, string>();
  private readonly releaseScript;
  private readonly getOrLockScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ids: IdGenerator = randomIds,
  ) {
    this.releaseScript = redis.createScript<number>(RELEASE_IF_OWNER);
    this.getOrLockScript = redis.createScript<[number, unknown]>(GET_OR_LOCK);
  }

  private keyOf(identifier: Identifier): string {
    return this.keys.lookup(identifier.kind, identifier.value);
  }

  async getMany(identifiers: readonly Identifier[]): Promise<(CachedLookup | null)[]> {
    if (identifiers.length === 0) return [];
    const values = await this.redis.mget<unknown[]>(...identifiers.map((id) => this.keyOf(id)));
    return values.map(asCachedLookup);
  }

  async setMany(entries: readonly CacheWrite[], releaseFillOf?: Identifier): Promise<void> {
    const release = releaseFillOf ? this.takeLockToken(releaseFillOf) : undefined;
    if (entries.length === 0 && !release) return;
    if (entries.length === 1 && entries[0] && !release) {
      const [entry] = entries;
      await this.redis.set(this.keyOf(entry.identifier), entry.value, { ex: entry.ttlSeconds });
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const entry of entries) pipeline.set(this.keyOf(entry.identifier), entry.value, { ex: entry.ttlSeconds });
    if (release) pipeline.eval(RELEASE_IF_OWNER, [release.key], [release.token]);
    await pipeline.exec();
  }

  async delete(identifiers: readonly Identifier[]): Promise<void> {
    if (identifiers.length === 0) return;
    await this.redis.del(...identifiers.map((id) => this.keyOf(id)));
  }

  async getOrLockFill(identifier: Identifier, ttlMs: number): Promise<{ entry: CachedLookup | null; locked: boolean }> {
    const lockKey = this.keys.lookupFillLock(identifier.kind, identifier.value);
    const token = this.ids.uuid();
    const [found, payload] = await this.getOrLockScript.exec([this.keyOf(identifier), lockKey], [token, String(ttlMs)]);
    if (found === 1) return { entry: asCachedLookup(payload), locked: false };
    const locked = payload === 1;
    if (locked) this.lockTokens.set(lockKey, token);
    return { entry: null, locked };
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
