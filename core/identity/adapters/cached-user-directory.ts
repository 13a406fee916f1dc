import { BoundedMemo } from "../../cache/bounded-memo";
import type { ReadThroughCache } from "../../cache/read-through-cache";
import type { Clock } from "../../clock";
import { identifierKey } from "../../lookups/identifier";
import type { UserDirectory } from "../user-ref";

/** Found users kept in this container, in front of the shared cache. */
export interface RefMemoOptions {
  readonly clock: Clock;
  /** Counted from when the ref was asked for: how long a deactivation may go unseen here. */
  readonly ttlMs: number;
  /** Past this many, the oldest goes. */
  readonly maxEntries: number;
}

/**
 * The shared cache of refs. Its keys are identifier keys (`user_id:<id>`, `okx_uid:<uid>`), as the
 * lookups' are, so every mapping change (deactivation, an okx uid moved, a user created) tombstones
 * its entries with the lookups' (runtime/lookup-invalidations.ts).
 */
export const USER_REF_CACHE = "user-refs";

/**
 * A UserDirectory answered from the shared read-through cache (core/cache): read-heavy routes
 * (position lists, reconciliation, guards) resolve `{ref}` without a database query on a hit.
 * Mapping changes invalidate entries at once (above); the TTL only bounds changes made behind
 * botstate's back; unknown refs are cached for its negative TTL.
 *
 * With a memo, found users are also kept in this container for `memo.ttlMs`, so a hot ref costs no
 * Redis round trip either; nothing invalidates the memo, so its TTL is how long a container may
 * still answer for a user deactivated meanwhile. Neither unknown refs (a user created meanwhile
 * must be found) nor stale answers (served while Postgres fails) are kept.
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
    return this.resolve(identifierKey({ kind: "user_id", value: userId }), () => this.inner.activeUserId(userId));
  }

  userIdByOkxUid(okxUid: string): Promise<string | null> {
    return this.resolve(identifierKey({ kind: "okx_uid", value: okxUid }), () => this.inner.userIdByOkxUid(okxUid));
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
