import type { CacheProbe, StoredEntry } from "./model";

/** Where a cache's entries, fill locks and tag versions live (Redis). Every call may fail or hang. */
export interface CacheStore {
  /**
   * Reads the entry and the tag versions; when no fresh valid entry is there and `lock` is given,
   * also tries the fill lock (SET NX PX) in the same round trip.
   */
  probe(cache: string, key: string, tags: readonly string[], nowMs: number, lock?: { readonly token: string; readonly ms: number }): Promise<CacheProbe>;
  /**
   * Writes the entry only if the tags still carry `stamp` (a bump since the probe means the value
   * may predate a write), and releases the fill lock if `releaseToken` still holds it. True if written.
   */
  write(cache: string, key: string, tags: readonly string[], stamp: string, entry: StoredEntry, ttlMs: number, releaseToken?: string): Promise<boolean>;
  /** Releases the fill lock if it still holds this token. */
  release(cache: string, key: string, token: string): Promise<void>;
  /** Bumps every tag's version: every entry filled under an older version is invalid from now on. */
  bumpTags(tags: readonly string[]): Promise<void>;
}

/** Where counts also go as metrics (Powertools EMF in Lambda, nothing in unit tests). */
export interface CacheMetricsSink {
  count(name: string, value?: number): void;
}
