import { withTimeout } from "../resilience/timeout";
import type { CacheStore } from "./ports";

/**
 * Bumps tag versions (one INCR per tag, no SCAN or KEYS): every entry filled under an older version
 * is invalid at once, in every container. One per container, shared by its caches: each bump also
 * starts a new local generation, so a read that begins after a bump never joins an in-container
 * fill that started before it (that fill may have read the source before the write committed).
 */
export class TagInvalidator {
  private generationValue = 0;

  constructor(
    private readonly store: CacheStore,
    /** Longest a bump may take; past it the caller's outbox retries it. */
    private readonly timeoutMs = 1_000,
  ) {}

  get generation(): number {
    return this.generationValue;
  }

  /** Throws when Redis cannot take the bump (the writer's outbox row then stays for a drain). */
  async bump(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    this.generationValue += 1;
    await withTimeout(this.store.bumpTags(tags), this.timeoutMs, "cache tag bump");
  }
}
