import { errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import type { EntryTrust } from "../cache/read-through-cache";
import { withTimeout } from "../resilience/timeout";
import type { Identifier } from "./identifier";
import { identifierKey } from "./invalidation";

/** Undelivered lookup invalidations (the outbox rows of the topic), read from Postgres. */
export interface PendingInvalidations {
  /** Identifiers named by at most `limit` pending rows; `more`: there are more rows than that. */
  list(limit: number): Promise<{ readonly identifiers: readonly Identifier[]; readonly more: boolean }>;
}

export interface InvalidationGateOptions {
  /** How old the known pending list may get before a read with entries refreshes it (and waits). */
  readonly refreshMs: number;
  /** Longest a read waits for that refresh; past it the read goes on with what it knew. */
  readonly checkTimeoutMs: number;
  /** Pending rows read at most; more than that and no cache entry is trusted until they drain. */
  readonly limit: number;
}

export const defaultGateOptions: InvalidationGateOptions = { refreshMs: 1_000, checkTimeoutMs: 300, limit: 500 };

interface Known {
  readonly keys: ReadonlySet<string>;
  /** More pending rows than read: distrust every entry. */
  readonly all: boolean;
  readonly atMs: number;
}

/**
 * Decides which cache entries a read may trust. An invalidation that Redis could not take when its
 * change committed stays in the outbox (Postgres, shared by every container); until it is
 * delivered, an entry it names may be stale, so reads treat it as absent and ask Postgres. Each
 * container keeps the list of pending identifiers (one indexed query) and refreshes it before
 * trusting an entry when it is unknown (cold start), older than `refreshMs`, or suspect: after any
 * cache failure seen by this container, since while Redis was unreachable from here, others'
 * invalidations may have failed too. Reads with no entry (a miss, Redis down) never wait for it.
 */
export class InvalidationGate implements EntryTrust {
  private known: Known | null = null;
  private suspect = true;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly pending: PendingInvalidations,
    private readonly nowMs: () => number,
    private readonly log: LogPort,
    private readonly options: InvalidationGateOptions = defaultGateOptions,
  ) {}

  /** A cache call failed here: the next read with an entry refreshes the list first. */
  markSuspect(): void {
    this.suspect = true;
  }

  /** This container's own change could not be invalidated: distrust its identifiers at once. */
  remember(identifiers: readonly Identifier[]): void {
    const keys = new Set(this.known?.keys ?? []);
    for (const identifier of identifiers) keys.add(identifierKey(identifier));
    this.known = { keys, all: this.known?.all ?? false, atMs: this.known?.atMs ?? 0 };
    this.suspect = true;
  }

  /** Whether a read may trust a cache entry of each identifier key (asked only when there are entries). */
  async trusted(): Promise<(key: string) => boolean> {
    const known = this.known;
    if (!known || this.suspect || this.nowMs() - known.atMs >= this.options.refreshMs) {
      await this.refreshBounded();
      // Suspect again: the refresh this read joined had started before the failure that made it so.
      if (this.suspect) await this.refreshBounded();
    }
    const current = this.known;
    if (!current) return () => true;
    return (key) => !current.all && !current.keys.has(key);
  }

  private async refreshBounded(): Promise<void> {
    try {
      await withTimeout(this.refresh(), this.options.checkTimeoutMs, "pending invalidations check");
    } catch (error) {
      // Postgres is slow or down: the read goes on with what this container knew (availability
      // first; a change cannot commit meanwhile either). The refresh itself keeps running.
      this.log.warn("pending lookup invalidations unknown", { reason: errorMessage(error) });
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
      const { identifiers, more } = await this.pending.list(this.options.limit);
      this.known = { keys: new Set(identifiers.map(identifierKey)), all: more, atMs: startedMs };
    } catch (error) {
      // Tried again only after refreshMs: a failing Postgres must not cost each read a query.
      this.known = { keys: this.known?.keys ?? new Set(), all: this.known?.all ?? false, atMs: startedMs };
      throw error;
    }
  }
}
