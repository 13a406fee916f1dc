import type { CacheProbe, CacheWrite } from "./model";

/** Where a cache's entries, fill locks and tag versions live (Redis). Every call may fail or hang. */
export interface CacheStore {
  /**
   * Reads the entry and the tag versions; when no fresh valid entry is there and `lock` is given,
   * also tries the fill lock (SET NX PX) in the same round trip.
   */
  probe(cache: string, key: string, tags: readonly string[], nowMs: number, lock?: { readonly token: string; readonly ms: number }): Promise<CacheProbe>;
  /** Reads untagged entries of many keys in one round trip (no fill lock). */
  probeMany(cache: string, keys: readonly string[], nowMs: number): Promise<CacheProbe[]>;
  /**
   * Compare-and-set, in one round trip: each entry is written only if the tags still carry `stamp`
   * (a bump since the probe means the value may predate a write), its slot still holds the
   * tombstone the probe saw (or none), and no other filler stored a fresh entry meanwhile; then
   * releases the fill lock if its token still holds it. Per entry, whether it was written.
   */
  write(cache: string, write: CacheWrite): Promise<boolean[]>;
  /**
   * Per-key invalidation: replaces each entry by a tombstone with this id, kept `ms`. A fill that
   * probed before it cannot write back over it; one that probed after it (and saw it) can.
   */
  tombstone(cache: string, keys: readonly string[], id: string, ms: number): Promise<void>;
  /** Releases the fill lock if it still holds this token. */
  release(cache: string, key: string, token: string): Promise<void>;
  /** Bumps every tag's version: every entry filled under an older version is invalid from now on. */
  bumpTags(tags: readonly string[]): Promise<void>;
}

/** Where counts also go as metrics (Powertools EMF in Lambda, nothing in unit tests). */
export interface CacheMetricsSink {
  count(name: string, value?: number): void;
}
