import type { Redis } from "@upstash/redis";
import { randomIds } from "../clock";
import type { IdGenerator } from "../clock";
import type { RedisKeys } from "../redis/keys";
import type { Identifier } from "./identifier";
import type { CachedLookup } from "./model";
import type { CacheWrite, LookupCache } from "./ports";

/** Deletes the lock only if it still holds our token: an expired lock may belong to another filler now. */
const RELEASE_IF_OWNER = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

/** Lookup cache in Redis via @upstash/redis: one MGET per read, one pipeline per write. */
export class UpstashLookupCache implements LookupCache {
  /** Tokens of the fill locks this container holds (singleflight means one per identifier). */
  private readonly lockTokens = new Map<string, string>();
  private readonly releaseScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ids: IdGenerator = randomIds,
  ) {
    this.releaseScript = redis.createScript<number>(RELEASE_IF_OWNER);
  }

  private keyOf(identifier: Identifier): string {
    return this.keys.lookup(identifier.kind, identifier.value);
  }

  async getMany(identifiers: readonly Identifier[]): Promise<(CachedLookup | null)[]> {
    if (identifiers.length === 0) return [];
    const values = await this.redis.mget<(CachedLookup | null)[]>(...identifiers.map((id) => this.keyOf(id)));
    return values.map((value) => (value && typeof value === "object" && "kind" in value ? value : null));
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

  async tryLockFill(identifier: Identifier, ttlMs: number): Promise<boolean> {
    const key = this.keys.lookupFillLock(identifier.kind, identifier.value);
    const token = this.ids.uuid();
    const acquired = (await this.redis.set(key, token, { nx: true, px: ttlMs })) === "OK";
    if (acquired) this.lockTokens.set(key, token);
    return acquired;
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
