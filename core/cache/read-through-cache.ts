import type { Clock, IdGenerator } from "../clock";
import { UnavailableError, errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { withTimeout } from "../resilience/timeout";
import { CacheMetrics } from "./metrics";
import type { CacheAnswer, CacheProbe, CacheRequest, StoredEntry } from "./model";
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
  /** After a Redis failure, how long reads skip Redis (one timeout per this period, not per read). */
  readonly storeCooldownMs: number;
}

export const defaultReadThroughOptions: Omit<ReadThroughOptions, "name"> = {
  ttlMs: 5_000,
  negativeTtlMs: 5_000,
  staleIfErrorMs: 60_000,
  fillLockMs: 2_000,
  fillWaitMs: 150,
  fillPollMs: 15,
  storeTimeoutMs: 200,
  storeCooldownMs: 1_000,
};

export interface ReadThroughDeps {
  readonly store: CacheStore;
  readonly invalidator: TagInvalidator;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly log: LogPort;
  readonly sleep: (ms: number) => Promise<void>;
  readonly metrics?: CacheMetricsSink;
}

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
 * while the others poll briefly; a fill writes back only if no tag was bumped meanwhile; when the
 * source fails, an entry expired less than `staleIfErrorMs` ago is served as `stale`. Redis failing
 * never fails a read: the source answers (`bypass`).
 */
export class ReadThroughCache<T> {
  readonly metrics: CacheMetrics;
  private readonly inflight = new Map<string, Promise<CacheAnswer<T>>>();
  private skipStoreUntil = 0;

  constructor(
    private readonly deps: ReadThroughDeps,
    readonly options: ReadThroughOptions,
  ) {
    if (!CACHE_NAME.test(options.name)) throw new Error(`invalid cache name: ${options.name}`);
    this.metrics = new CacheMetrics(options.name, deps.metrics);
  }

  /** The value for this key, from the cache or its source; throws only what the source throws. */
  get(request: CacheRequest<T>): Promise<CacheAnswer<T>> {
    const flight = `${this.deps.invalidator.generation}\u0000${request.key}\u0000${request.tags.join("\u0000")}`;
    const shared = this.inflight.get(flight);
    if (shared) return this.share(shared);
    const promise = this.read(request).finally(() => this.inflight.delete(flight));
    this.inflight.set(flight, promise);
    return promise;
  }

  /** Invalidates every entry carrying one of these tags, in every container. */
  invalidate(tags: readonly string[]): Promise<void> {
    return this.deps.invalidator.bump(tags);
  }

  /** A read that joined a fill under way cost no source query of its own: counted as a hit. */
  private async share(shared: Promise<CacheAnswer<T>>): Promise<CacheAnswer<T>> {
    const answer = await shared;
    const counter = { hit: "hits", miss: "hits", stale: "staleServes", bypass: "bypasses" } as const;
    this.metrics.add(counter[answer.outcome]);
    return answer;
  }

  private async read(request: CacheRequest<T>): Promise<CacheAnswer<T>> {
    const token = this.deps.ids.uuid();
    const probe = await this.guarded("probe", () =>
      this.deps.store.probe(this.options.name, request.key, request.tags, this.nowMs(), { token, ms: this.options.fillLockMs }),
    );
    if (!probe) return this.bypass(request);
    if (probe.fresh) return this.hit(probe.fresh);
    if (probe.locked) return this.fill(request, probe, token);
    const waited = await this.waitForFiller(request);
    if (waited?.fresh) return this.hit(waited.fresh);
    return this.fill(request, waited ?? probe, undefined);
  }

  private hit(entry: StoredEntry): CacheAnswer<T> {
    this.metrics.add("hits");
    return { value: decode<T>(entry), outcome: "hit" };
  }

  /** Another container holds the fill lock: poll for its answer; the last probe if it never came. */
  private async waitForFiller(request: CacheRequest<T>): Promise<CacheProbe | undefined> {
    this.metrics.add("lockWaits");
    let last: CacheProbe | undefined;
    for (let waited = 0; waited < this.options.fillWaitMs; waited += this.options.fillPollMs) {
      await this.deps.sleep(this.options.fillPollMs);
      last = await this.guarded("probe", () => this.deps.store.probe(this.options.name, request.key, request.tags, this.nowMs()));
      if (!last || last.fresh) return last;
    }
    return last;
  }

  private async fill(request: CacheRequest<T>, probe: CacheProbe, lockToken: string | undefined): Promise<CacheAnswer<T>> {
    this.metrics.add("fills");
    let value: T | null;
    try {
      value = await request.fill();
    } catch (error) {
      if (lockToken) await this.guarded("release", () => this.deps.store.release(this.options.name, request.key, lockToken));
      const stale = this.staleAnswer(probe, error);
      if (stale) return stale;
      throw error;
    }
    this.metrics.add("misses");
    const { ttlMs, negativeTtlMs, staleIfErrorMs } = this.options;
    const entry: StoredEntry = { payload: encode(value), freshUntilMs: this.nowMs() + (value === null ? negativeTtlMs : ttlMs) };
    const keepMs = value === null ? negativeTtlMs : ttlMs + staleIfErrorMs;
    await this.guarded("write", () => this.deps.store.write(this.options.name, request.key, request.tags, probe.stamp, entry, keepMs, lockToken));
    return { value, outcome: "miss" };
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
    return { value: await request.fill(), outcome: "bypass" };
  }

  /** A bounded Redis call; undefined when it failed (counted and logged) or Redis is cooling down. */
  private async guarded<R>(operation: string, work: () => Promise<R>): Promise<R | undefined> {
    if (this.nowMs() < this.skipStoreUntil) return undefined;
    try {
      return await withTimeout(work(), this.options.storeTimeoutMs, `cache ${operation}`);
    } catch (error) {
      this.metrics.add("storeErrors");
      this.skipStoreUntil = this.nowMs() + this.options.storeCooldownMs;
      this.deps.log.warn("cache store unavailable: reading the source", { cache: this.options.name, operation, reason: errorMessage(error) });
      return undefined;
    }
  }

  private nowMs(): number {
    return this.deps.clock.now().getTime();
  }
}
