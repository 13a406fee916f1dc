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

/**
 * A fill's answer with a lifetime of its own, instead of the cache's TTL (value) or negative TTL
 * (null): `ttlMs` null means "answer this caller, store nothing" (e.g. an answer that only says the
 * source could not rule, which the next read must ask again).
 */
export class CacheFill<T> {
  constructor(
    readonly value: T | null,
    readonly ttlMs: number | null,
  ) {}
}

/** What a fill may answer: a value, null ("does not exist"), or either with its own lifetime. */
export type Filled<T> = T | null | CacheFill<T>;

/** What one read asks for: an entry key and the tags whose bump invalidates it. */
export interface CacheRequest<T> {
  readonly key: string;
  /** Logical tags (`user/<id>`); any bump of one makes the entry invalid at once. */
  readonly tags: readonly string[];
  /** The source of truth; null for "does not exist". */
  readonly fill: () => Promise<Filled<T>>;
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
  /**
   * With no entry: the id of the per-key invalidation (tombstone) the slot holds, else null. A fill
   * writes back only if the slot still holds it (see CacheStore.write).
   */
  readonly slot: string | null;
}

/** One entry a fill writes back (compare-and-set, see CacheStore.write). */
export interface EntryWrite {
  readonly key: string;
  /** The tombstone the probe saw (null: none), which the slot must still hold. */
  readonly expectedSlot: string | null;
  readonly entry: StoredEntry;
  /** How long Redis keeps it (its freshness, plus the stale-if-error window for values). */
  readonly keepMs: number;
}

/** A write-back: entries filled under one tag stamp, and the fill lock to release with them. */
export interface CacheWrite {
  readonly tags: readonly string[];
  readonly stamp: string;
  readonly nowMs: number;
  readonly entries: readonly EntryWrite[];
  readonly release?: { readonly key: string; readonly token: string } | undefined;
}
