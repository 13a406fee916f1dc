import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../redis/keys";
import type { Identifier } from "./identifier";
import type { CachedLookup } from "./model";
import type { LookupCache } from "./ports";

/** Lookup cache in Redis via @upstash/redis: one MGET per read, one pipeline per write. */
export class UpstashLookupCache implements LookupCache {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  private keyOf(identifier: Identifier): string {
    return this.keys.lookup(identifier.kind, identifier.value);
  }

  async getMany(identifiers: readonly Identifier[]): Promise<(CachedLookup | null)[]> {
    if (identifiers.length === 0) return [];
    const values = await this.redis.mget<(CachedLookup | null)[]>(...identifiers.map((id) => this.keyOf(id)));
    return values.map((value) => (value && typeof value === "object" && "kind" in value ? value : null));
  }

  async setMany(entries: readonly { identifier: Identifier; value: CachedLookup; ttlSeconds: number }[]): Promise<void> {
    if (entries.length === 0) return;
    if (entries.length === 1 && entries[0]) {
      const [entry] = entries;
      await this.redis.set(this.keyOf(entry.identifier), entry.value, { ex: entry.ttlSeconds });
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const entry of entries) pipeline.set(this.keyOf(entry.identifier), entry.value, { ex: entry.ttlSeconds });
    await pipeline.exec();
  }

  async delete(identifiers: readonly Identifier[]): Promise<void> {
    if (identifiers.length === 0) return;
    await this.redis.del(...identifiers.map((id) => this.keyOf(id)));
  }

  async tryLockFill(identifier: Identifier, ttlMs: number): Promise<boolean> {
    const result = await this.redis.set(this.keys.lookupFillLock(identifier.kind, identifier.value), "1", { nx: true, px: ttlMs });
    return result === "OK";
  }

  async releaseFill(identifier: Identifier): Promise<void> {
    await this.redis.del(this.keys.lookupFillLock(identifier.kind, identifier.value));
  }
}
