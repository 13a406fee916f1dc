import { errorMessage } from "../../errors";
import type { Identifier } from "../../lookups/identifier";
import type { LookupCache } from "../../lookups/ports";
import type { LogPort } from "../../observability/log-port";
import type { LookupInvalidation } from "../../provisioning/ports";
import { withTimeout } from "../../resilience/timeout";

/**
 * Drops cached lookups after a registration commits, bounded by a timeout and never failing the
 * registration (the lookups' negative TTL bounds what a missed drop leaves behind). Lighter than
 * the lookup module's resilient cache, which would carry the whole lookup service into this bundle.
 */
export class BoundedLookupInvalidation implements LookupInvalidation {
  constructor(
    private readonly cache: Pick<LookupCache, "invalidate">,
    private readonly timeoutMs: number,
    private readonly log: LogPort,
  ) {}

  async invalidate(identifiers: readonly Identifier[]): Promise<void> {
    try {
      await withTimeout(this.cache.invalidate(identifiers), this.timeoutMs, "lookup cache invalidation");
    } catch (error) {
      this.log.error("lookup cache invalidation failed after registration", { entries: identifiers.length, reason: errorMessage(error) });
    }
  }
}
