import type { Clock, IdGenerator } from "../clock";
import { UnavailableError, errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { breakerStateOf, isBreakerOpen } from "../resilience/breaker";
import type { BreakerState } from "../resilience/breaker";
import { CircuitBreaker } from "../resilience/circuit-breaker";
import { CacheMetrics } from "./metrics";
import { CacheFill } from "./model";
import type { CacheAnswer, CacheProbe, CacheRequest, EntryWrite, Filled, StoredEntry } from "./model";
import type { CacheMetricsSink, CacheStore } from "./ports";
import type { TagInvalidator } from "./tag-invalidator";

export interface ReadThroughOptions {
  /** Names the cache in keys and metrics: `[a-z0-9-]+`. */
  readonly name: string;
  readonly ttlMs: number;
  /** How long a "does not exist" answer is cached. */
  readonly negativeTtlMs: number;
  /** How long past its freshness an entry may still be served when the source fails (0: never). */
  readonly staleIfErrorMs: number;
  /** Cross-container fill lock: held at most this long; others poll this long for the filler. */
  readonly fillLockMs: number;
  readonly fillWaitMs: number;
  readonly fillPollMs: number;
  /** Longest one Redis call may take before the read goes on without the cache. */
  readonly storeTimeoutMs: number;
  /** Failed Redis calls in a row that open the store's breaker (reads then skip Redis)... */
  readonly storeFailuresToOpen: number;
  /** ...for this long, after which one trial call goes through. */
  readonly storeCooldownMs: number;
  /** How long a per-key invalidation's tombstone stays: longer than the slowest fill. */
  readonly tombstoneMs: number;
}

export const defaultReadThroughOptions: Omit<ReadThroughOptions, "name"> = {
  ttlMs: 5_000,
  negativeTtlMs: 5_000,
  staleIfErrorMs: 60_000,
  fillLockMs: 2_000,
  fillWaitMs: 150,
  fillPollMs: 15,
  storeTimeoutMs: 200,
  storeFailuresToOpen: 1,
  storeCooldownMs: 1_000,
  tombstoneMs: 5_000,
};

/** Which entries a read may trust; an untrusted entry reads as absent and nothing is written over it. */
export interface EntryTrust {
  trusted(): Promise<(key: string, tags: readonly string[]) => boolean>;
  /** A store call failed: while Redis was unreachable from here, others' invalidations may have failed too. */
  markSuspect?(): void;
}

export interface ReadThroughDeps {
  readonly store: CacheStore;
  /** Tag versions; a cache without one (lookups: per-key invalidation only) takes no tags. */
  readonly invalidator?: TagInvalidator | undefined;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly log: LogPort;
  readonly sleep: (ms: number) => Promise<void>;
  readonly metrics?: CacheMetricsSink;
  /** Entries whose key or tag an undelivered invalidation names are not trusted (core/cache/pending-gate.ts). */
  readonly trust?: EntryTrust;
}

/** One read's (or batch's) view of the store: once one of its calls failed, it makes no other. */
interface ReadScope {
  failed: boolean;
}

/** Fills the keys a batch read found no fresh entry for; one call (one source query) for all. */
export type FillMany<T> = (keys: readonly string[]) => Promise<ReadonlyMap<string, Filled<T>>>;

const CACHE_NAME = /^[a-z0-9-]{1,40}$/;

function encode(value: unknown): string {
  return value === null ? "n" : `v${JSON.stringify(value)}`;
}

function decode<T>(entry: StoredEntry): T | null {
  return entry.payload === "n" ? null : (JSON.parse(entry.payload.slice(1)) as T);
}

/**
 * Get-or-fill over Redis (see CacheStore): fresh entries answer at once; a miss is filled by one
 * caller per container (single flight) and, across containers, by the holder of a short fill lock
 * while the others poll briefly; a fill writes back only if no tag was bumped and no tombstone
 * landed meanwhile (compare-and-set); when the source fails, an entry expired less than
 * `staleIfErrorMs` ago is served as `stale`. Redis failing never fails a read: each call is bounded,
 * a read makes no other call after one failed, and a breaker skips Redis after repeated failures;
 * the source answers (`bypass`).
 */
export class ReadThroughCache<T> {
  readonly metrics: CacheMetrics;
  private readonly inflight = new Map<string, Promise<CacheAnswer<T>>>();
  private readonly breaker: CircuitBreaker;
  /** Bumped by each per-key invalidation of this container, as the invalidator's generation by tag bumps. */
  private invalidations = 0;

  constructor(
    private readonly deps: ReadThroughDeps,
    readonly options: ReadThroughOptions,
  ) {
    if (!CACHE_NAME.test(options.name)) throw new Error(`invalid cache name: ${options.name}`);
    this.metrics = new CacheMetrics(options.name, deps.metrics);
    this.breaker = new CircuitBreaker(
      {
        timeoutMs: options.storeTimeoutMs,
        errorThresholdPercentage: 50,
        volumeThreshold: 5,
        resetTimeoutMs: options.storeCooldownMs,
        openAfterConsecutiveFailures: options.storeFailuresToOpen,
        onOpen: () => deps.log.error("cache store unavailable: reading the source", { cache: options.name }),
        onClose: () => deps.log.info("cache store recovered", { cache: options.name }),
      },
      () => this.nowMs(),
    );
  }

  /** The value for this key, from the cache or its source; throws only what the source throws. */
  get(request: CacheRequest<T>): Promise<CacheAnswer<T>> {
    const flight = this.flightOf(request.key, request.tags);
    const shared = this.inflight.get(flight);
    if (shared) return this.share(shared);
    const promise = this.read(request).finally(() => this.inflight.delete(flight));
    this.inflight.set(flight, promise);
    return promise;
  }

  /**
   * Untagged entries of many keys: one probe for all (no fill lock: a batch never waits for another
   * container), one `fill` call for every key without a fresh entry, one compare-and-set write.
   * Keys already being read in this container join that read.
   */
  async getMany(keys: readonly string[], fill: FillMany<T>): Promise<Map<string, CacheAnswer<T>>> {
    const answers = new Map<string, Promise<CacheAnswer<T>>>();
    const mine: string[] = [];
    for (const key of new Set(keys)) {
      const shared = this.inflight.get(this.flightOf(key, []));
      if (shared) answers.set(key, this.share(shared));
      else mine.push(key);
    }
    if (mine.length > 0) {
      const batch = this.readMany(mine, fill);
      for (const key of mine) {
        const flight = this.flightOf(key, []);
        const own = batch.then((read) => read.get(key) as CacheAnswer<T>).finally(() => this.inflight.delete(flight));
        this.inflight.set(flight, own);
        answers.set(key, own);
      }
    }
    const settled = await Promise.all([...answers].map(async ([key, answer]) => [key, await answer] as const));
    return new Map(settled);
  }

  /** Invalidates every entry carrying one of these tags, in every container. */
  invalidate(tags: readonly string[]): Promise<void> {
    return this.deps.invalidator ? this.deps.invalidator.bump(tags) : Promise.reject(new Error(`cache ${this.options.name} has no tags`));
  }

  /**
   * Invalidates these keys' entries at once with tombstones (no fill that read before can write
   * back). Throws when Redis did not take them (an owed invalidation stays in its outbox).
   */
  async invalidateKeys(keys: readonly string[]): Promise<void> {
    this.invalidations += 1;
    if (keys.length === 0) return;
    const { name, tombstoneMs } = this.options;
    const id = this.deps.ids.uuid();
    await this.attempt("invalidate", () => this.deps.store.tombstone(name, keys, id, tombstoneMs));
  }

  breakerState(): BreakerState {
    return breakerStateOf(this.breaker);
  }

  /** A read that begins after an invalidation never joins a fill that started before it. */
  private flightOf(key: string, tags: readonly string[]): string {
    return `${this.deps.invalidator?.generation}.${this.invalidations}\u0000${key}\u0000${tags.join("\u0000")}`;
  }

  /** A read that joined a fill under way cost no source query of its own: counted as a hit. */
  private async share(shared: Promise<CacheAnswer<T>>): Promise<CacheAnswer<T>> {
    const answer = await shared;
    const counter = { hit: "hits", miss: "hits", stale: "staleServes", bypass: "bypasses" } as const;
    this.metrics.add(counter[answer.outcome]);
    return answer;
  }

  private async read(request: CacheRequest<T>): Promise<CacheAnswer<T>> {
    const scope: ReadScope = { failed: false };
    const token = this.deps.ids.uuid();
    const probe = await this.probe(request, scope, { token, ms: this.options.fillLockMs });
    if (!probe) return this.bypass(request);
    if (probe.fresh) return (await this.isTrusted(request)) ? this.hit(probe.fresh) : this.fill(request, untrusted(probe), undefined, scope);
    if (probe.locked) return this.fill(request, probe, token, scope);
    const waited = await this.waitForFiller(request, scope);
    if (waited?.fresh && (await this.isTrusted(request))) return this.hit(waited.fresh);
    return this.fill(request, waited ? untrusted(waited) : probe, undefined, scope);
  }

  private probe(request: CacheRequest<T>, scope: ReadScope, lock?: { token: string; ms: number }): Promise<CacheProbe | undefined> {
    return this.guarded("probe", () => this.deps.store.probe(this.options.name, request.key, request.tags, this.nowMs(), lock), scope);
  }

  private async isTrusted(request: CacheRequest<T>): Promise<boolean> {
    return !this.deps.trust || (await this.deps.trust.trusted())(request.key, request.tags);
  }

  private hit(entry: StoredEntry): CacheAnswer<T> {
    this.metrics.add("hits");
    return { value: decode<T>(entry), outcome: "hit" };
  }

  /** Another container holds the fill lock: poll for its answer; the last probe if it never came. */
  private async waitForFiller(request: CacheRequest<T>, scope: ReadScope): Promise<CacheProbe | undefined> {
    this.metrics.add("lockWaits");
    const { fillWaitMs, fillPollMs } = this.options;
    let last: CacheProbe | undefined;
    for (let waited = 0; waited < fillWaitMs; waited += fillPollMs) {
      await this.deps.sleep(fillPollMs);
      last = await this.probe(request, scope);
      if (!last || last.fresh) return last;
    }
    return last;
  }

  private async fill(request: CacheRequest<T>, probe: CacheProbe, lockToken: string | undefined, scope: ReadScope): Promise<CacheAnswer<T>> {
    this.metrics.add("fills");
    let filled: Filled<T>;
    try {
      filled = await request.fill();
    } catch (error) {
      if (lockToken) await this.guarded("release", () => this.deps.store.release(this.options.name, request.key, lockToken), scope);
      const stale = this.staleAnswer(probe, error);
      if (stale) return stale;
      throw error;
    }
    this.metrics.add("misses");
    const { value, write } = this.entryOf(request.key, probe, filled);
    const release = lockToken ? { key: request.key, token: lockToken } : undefined;
    if (write || release) await this.writeBack(request.tags, probe.stamp, write ? [write] : [], release, scope);
    return { value, outcome: "miss" };
  }

  /** What a fill answers and what it stores: nothing for a CacheFill without a lifetime, or without a probe (Redis failed). */
  private entryOf(key: string, probe: CacheProbe | undefined, filled: Filled<T>): { value: T | null; write: EntryWrite | undefined } {
    const { negativeTtlMs, ttlMs: positiveMs, staleIfErrorMs } = this.options;
    const { value, ttlMs } = filled instanceof CacheFill ? filled : { value: filled, ttlMs: filled === null ? negativeTtlMs : positiveMs };
    if (ttlMs === null || !probe) return { value, write: undefined };
    const entry: StoredEntry = { payload: encode(value), freshUntilMs: this.nowMs() + ttlMs };
    const keepMs = value === null ? ttlMs : ttlMs + staleIfErrorMs;
    return { value, write: { key, expectedSlot: probe.slot, entry, keepMs } };
  }

  private async writeBack(tags: readonly string[], stamp: string, entries: readonly EntryWrite[], release: { key: string; token: string } | undefined, scope: ReadScope): Promise<void> {
    const write = { tags, stamp, nowMs: this.nowMs(), entries, release };
    await this.guarded("write", () => this.deps.store.write(this.options.name, write), scope);
  }

  /** The last value, if the source is unavailable and it expired within the stale-if-error window. */
  private staleAnswer(probe: CacheProbe, error: unknown): CacheAnswer<T> | null {
    if (!(error instanceof UnavailableError) || !probe.stale) return null;
    const staleForMs = Math.max(0, this.nowMs() - probe.stale.freshUntilMs);
    if (staleForMs > this.options.staleIfErrorMs) return null;
    this.metrics.add("staleServes");
    this.deps.log.warn("cache served a stale value: the source is unavailable", { cache: this.options.name, staleForMs, reason: errorMessage(error) });
    return { value: decode<T>(probe.stale), outcome: "stale", staleForMs };
  }

  private async bypass(request: CacheRequest<T>): Promise<CacheAnswer<T>> {
    this.metrics.add("bypasses");
    this.metrics.add("fills");
    return { value: this.entryOf(request.key, undefined, await request.fill()).value, outcome: "bypass" };
  }

  /** The batch's own keys: hits, then one fill for the others (all of them when Redis failed: `bypass`). */
  private async readMany(keys: readonly string[], fill: FillMany<T>): Promise<Map<string, CacheAnswer<T>>> {
    const scope: ReadScope = { failed: false };
    const probes = await this.guarded("probe", () => this.deps.store.probeMany(this.options.name, keys, this.nowMs()), scope);
    const trusted = probes?.some((probe) => probe.fresh) && this.deps.trust ? await this.deps.trust.trusted() : () => true;
    const answers = new Map<string, CacheAnswer<T>>();
    const missing = new Map<string, CacheProbe | undefined>();
    keys.forEach((key, index) => {
      const probe = probes?.[index];
      if (probe?.fresh && trusted(key, [])) answers.set(key, this.hit(probe.fresh));
      else missing.set(key, probe && untrusted(probe));
    });
    if (missing.size === 0) return answers;
    this.metrics.add("fills");
    const filled = await fill([...missing.keys()]);
    const writes: EntryWrite[] = [];
    for (const [key, probe] of missing) {
      const { value, write } = this.entryOf(key, probe, filled.get(key) ?? null);
      this.metrics.add(probe ? "misses" : "bypasses");
      answers.set(key, { value, outcome: probe ? "miss" : "bypass" });
      if (write) writes.push(write);
    }
    if (writes.length > 0) await this.writeBack([], "@", writes, undefined, scope);
    return answers;
  }

  /** A bounded Redis call through the breaker; throws what failed (counted and logged). */
  private async attempt<R>(operation: string, work: () => Promise<R>): Promise<R> {
    try {
      return await this.breaker.fire(work);
    } catch (error) {
      if (isBreakerOpen(error)) {
        this.metrics.add("storeSkips");
      } else {
        this.metrics.add("storeErrors");
        this.deps.trust?.markSuspect?.();
        this.deps.log.warn("cache store call failed: reading the source", { cache: this.options.name, operation, reason: errorMessage(error) });
      }
      throw error;
    }
  }

  /** attempt(), undefined when it failed or this read already saw a failure (one timeout per read at most). */
  private async guarded<R>(operation: string, work: () => Promise<R>, scope: ReadScope): Promise<R | undefined> {
    if (scope.failed) return undefined;
    try {
      return await this.attempt(operation, work);
    } catch {
      scope.failed = true;
      return undefined;
    }
  }

  private nowMs(): number {
    return this.deps.clock.now().getTime();
  }
}

/**
 * A probe whose fresh entry is not to be served (untrusted, or left over from a poll): filled as
 * if empty, and written back only over what the probe saw, so never over that entry.
 */
function untrusted(probe: CacheProbe): CacheProbe {
  return probe.fresh ? { ...probe, fresh: null, slot: null } : probe;
}
