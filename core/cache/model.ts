/**
 * How a read was answered: `hit` (a fresh entry), `miss` (filled from the source now), `stale` (the
 * source failed and the last value was served within the stale-if-error window), `bypass` (Redis
 * could not be used, the source answered directly).
 */
export type CacheOutcome = "hit" | "miss" | "stale" | "bypass";

export interface CacheAnswer<T> {
  /** null: the source knows nothing (cached for the negative TTL). */
  readonly value: T | null;
  readonly outcome: CacheOutcome;
  /** For `stale`: how long ago the served value stopped being fresh, in ms. */
  readonly staleForMs?: number;
}

/** What one read asks for: an entry key and the tags whose bump invalidates it. */
export interface CacheRequest<T> {
  readonly key: string;
  /** Logical tags (`user/<id>`); any bump of one makes the entry invalid at once. */
  readonly tags: readonly string[];
  /** The source of truth; null for "does not exist". */
  readonly fill: () => Promise<T | null>;
}

/** An entry as stored: the value, until when it is fresh, and the tag versions it was filled under. */
export interface StoredEntry {
  /** `n` for a negative entry, otherwise `v` + the value's JSON. */
  readonly payload: string;
  readonly freshUntilMs: number;
}

/**
 * The answer of one probe (one Redis round trip): a fresh entry, or else an expired one still
 * valid for its tags (a stale-if-error candidate), the current tag stamp, and whether this caller
 * took the cross-container fill lock.
 */
export interface CacheProbe {
  readonly fresh: StoredEntry | null;
  readonly stale: StoredEntry | null;
  /** The tag versions now; a fill writes back only if they are unchanged. */
  readonly stamp: string;
  readonly locked: boolean;
}
