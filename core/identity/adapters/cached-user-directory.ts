import { BoundedMemo } from "../../cache/bounded-memo";
import type { ReadThroughCache } from "../../cache/read-through-cache";
import type { Clock } from "../../clock";
import type { UserDirectory } from "../user-ref";

/** Found users kept in this container, in front of the shared cache. */
export interface RefMemoOptions {
  readonly clock: Clock;
  /** Counted from when the ref was asked for; adds to the shared cache's TTL (see below). */
  readonly ttlMs: number;
  /** Past this many, the oldest goes. */
  readonly maxEntries: number;
}

/**
 * A UserDirectory answered from the shared read-through cache (core/cache): read-heavy routes
 * (position lists, reconciliation, guards) resolve `{ref}` without a database query on a hit. A
 * deactivation is seen within the cache's TTL; unknown refs are cached for its negative TTL.
 *
 * With a memo, found users are also kept in this container for `memo.ttlMs`, so a hot ref costs no
 * Redis round trip either. The shared entry may already be up to its TTL old when it is kept, so
 * the two TTLs add up (runtime/user-refs.ts splits the documented bound between them). Neither
 * unknown refs (a user created meanwhile must be found) nor stale answers (served while Postgres
 * fails, already past the bound) are kept.
 */
export class CachedUserDirectory implements UserDirectory {
  private readonly memo: BoundedMemo<string>;

  constructor(
    private readonly inner: UserDirectory,
    private readonly cache: ReadThroughCache<string>,
    private readonly memoOptions?: RefMemoOptions,
  ) {
    this.memo = new BoundedMemo(memoOptions?.maxEntries ?? 0);
  }

  activeUserId(userId: string): Promise<string | null> {
    return this.resolve(`id/${userId}`, () => this.inner.activeUserId(userId));
  }

  userIdByOkxUid(okxUid: string): Promise<string | null> {
    return this.resolve(`okx/${okxUid}`, () => this.inner.userIdByOkxUid(okxUid));
  }

  private async resolve(key: string, fill: () => Promise<string | null>): Promise<string | null> {
    const askedAtMs = this.memoOptions?.clock.now().getTime() ?? 0;
    const known = this.memo.get(key, askedAtMs);
    if (known !== undefined) return known;
    const answer = await this.cache.get({ key, tags: [], fill });
    if (this.memoOptions && answer.value !== null && answer.outcome !== "stale") this.memo.set(key, answer.value, askedAtMs + this.memoOptions.ttlMs);
    return answer.value;
  }
}
