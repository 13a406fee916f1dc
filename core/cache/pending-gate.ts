import { errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { withTimeout } from "../resilience/timeout";
import type { EntryTrust } from "./read-through-cache";

/**
 * Undelivered invalidations (outbox rows, read from Postgres): the names they invalidate, which are
 * cache keys (lookups: identifier keys) or tags (views: `user/<id>`).
 */
export interface PendingInvalidations {
  /** Names in at most `limit` pending rows; `more`: there are more rows than that. */
  list(limit: number): Promise<{ readonly names: readonly string[]; readonly more: boolean }>;
}

export interface PendingGateOptions {
  /** How old the known pending list may get before a read with entries refreshes it (and waits). */
  readonly refreshMs: number;
  /** Longest a read waits for that refresh; past it the read goes on with what it knew. */
  readonly checkTimeoutMs: number;
  /** Pending rows read at most; more than that and no cache entry is trusted until they drain. */
  readonly limit: number;
}

export const defaultGateOptions: PendingGateOptions = { refreshMs: 1_000, checkTimeoutMs: 300, limit: 500 };

interface Known {
  readonly names: ReadonlySet<string>;
  /** More pending rows than read: distrust every entry. */
  readonly all: boolean;
  readonly atMs: number;
}

/**
 * Decides which cache entries a read may trust. An invalidation that Redis could not take when its
 * change committed stays in the outbox (Postgres, shared by every container); until it is
 * delivered, an entry whose key or tag it names may be stale, so reads treat it as absent and ask
 * Postgres. Each container keeps the list of pending names (one indexed query) and refreshes it
 * before trusting an entry when it is unknown (cold start), older than `refreshMs`, or suspect:
 * after any cache failure seen by this container, since while Redis was unreachable from here,
 * others' invalidations may have failed too. Reads with no entry (a miss, Redis down) never wait.
 * So an undelivered invalidation is honoured everywhere within `refreshMs`, however long the
 * entries it names would otherwise live.
 */
export class PendingInvalidationGate implements EntryTrust {
  private known: Known | null = null;
  private suspect = true;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly pending: PendingInvalidations,
    private readonly nowMs: () => number,
    private readonly log: LogPort,
    private readonly options: PendingGateOptions = defaultGateOptions,
  ) {}

  /** A cache call failed here (the cache tells its trust): the next read with an entry refreshes the list first. */
  markSuspect(): void {
    this.suspect = true;
  }

  /** This container's own change could not be invalidated: distrust these names at once. */
  remember(names: readonly string[]): void {
    const known = new Set(this.known?.names ?? []);
    for (const name of names) known.add(name);
    this.known = { names: known, all: this.known?.all ?? false, atMs: this.known?.atMs ?? 0 };
    this.suspect = true;
  }

  /** Whether a read may trust an entry of this key carrying these tags (asked only when there are entries). */
  async trusted(): Promise<(key: string, tags: readonly string[]) => boolean> {
    const known = this.known;
    if (!known || this.suspect || this.nowMs() - known.atMs >= this.options.refreshMs) {
      await this.refreshBounded();
      // Suspect again: the refresh this read joined had started before the failure that made it so.
      if (this.suspect) await this.refreshBounded();
    }
    const current = this.known;
    if (!current) return () => true;
    return (key, tags) => !current.all && !current.names.has(key) && !tags.some((tag) => current.names.has(tag));
  }

  private async refreshBounded(): Promise<void> {
    try {
      await withTimeout(this.refresh(), this.options.checkTimeoutMs, "pending invalidations check");
    } catch (error) {
      // Postgres is slow or down: the read goes on with what this container knew (availability
      // first; a change cannot commit meanwhile either). The refresh itself keeps running.
      this.log.warn("pending cache invalidations unknown", { reason: errorMessage(error) });
    }
  }

  /** One refresh at a time per container. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const startedMs = this.nowMs();
    this.suspect = false;
    try {
      const { names, more } = await this.pending.list(this.options.limit);
      this.known = { names: new Set(names), all: more, atMs: startedMs };
    } catch (error) {
      // Tried again only after refreshMs: a failing Postgres must not cost each read a query.
      this.known = { names: this.known?.names ?? new Set(), all: this.known?.all ?? false, atMs: startedMs };
      throw error;
    }
  }
}
