import type { ReadThroughCache } from "../../cache/read-through-cache";
import type { UserDirectory } from "../user-ref";

/**
 * A UserDirectory answered from the shared read-through cache (core/cache): read-heavy routes
 * (reconciliation, guards) resolve `{ref}` without a database query on a hit. A deactivation is
 * seen within the cache's TTL; unknown refs are cached for its negative TTL.
 */
export class CachedUserDirectory implements UserDirectory {
  constructor(
    private readonly inner: UserDirectory,
    private readonly cache: ReadThroughCache<string>,
  ) {}

  async activeUserId(userId: string): Promise<string | null> {
    return (await this.cache.get({ key: `id/${userId}`, tags: [], fill: () => this.inner.activeUserId(userId) })).value;
  }

  async userIdByOkxUid(okxUid: string): Promise<string | null> {
    return (await this.cache.get({ key: `okx/${okxUid}`, tags: [], fill: () => this.inner.userIdByOkxUid(okxUid) })).value;
  }
}
