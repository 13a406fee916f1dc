import type { IdGenerator } from "../clock";
import { ConflictError, NotFoundError, UnavailableError, errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { identifierOf } from "./identifier";
import type { Identifier, IdentifierKind } from "./identifier";
import { completeLegacyAnswer, legacyAnswerProblem, storedMappingFor } from "./legacy-answer";
import { deliverInvalidation } from "./invalidation";
import type { InvalidationDeliveryDeps } from "./invalidation";
import { mappingMatches } from "./model";
import type { BatchEntry, CachedLookup, LegacyAnswer, LookupResult } from "./model";
import { LegacyBreakerOpenError, LegacyBusyError } from "./ports";
import type { LegacyLookup, MappingRepository, RequestCache, RequestScopedCache } from "./ports";
import type { LookupStats } from "./stats";

export interface LookupOptions {
  readonly positiveTtlSeconds: number;
  readonly negativeTtlSeconds: number;
  /** Cross-container fill lock: how long it is held at most, and how long others wait for it. */
  readonly fillLockMs: number;
  readonly fillWaitMs: number;
  readonly fillPollMs: number;
  /** Upper bound of a legacy call, and the time kept back for the rest of the invocation. */
  readonly legacyTimeoutMs: number;
  readonly legacyReserveMs: number;
}

export const defaultLookupOptions: LookupOptions = {
  positiveTtlSeconds: 3600,
  negativeTtlSeconds: 30,
  fillLockMs: 1_000,
  fillWaitMs: 150,
  fillPollMs: 15,
  legacyTimeoutMs: 1_500,
  legacyReserveMs: 250,
};

export interface LookupDeps {
  readonly repository: MappingRepository;
  /** Already resilient: never throws, and each request gets its own view (see ResilientLookupCache). */
  readonly cache: RequestScopedCache;
  /** Delivers the invalidation a mapping learned from the legacy service owes. */
  readonly invalidations: Omit<InvalidationDeliveryDeps, "cache">;
  readonly legacy: LegacyLookup;
  readonly stats: LookupStats;
  readonly ids: IdGenerator;
  readonly log: LogPort;
  readonly sleep: (ms: number) => Promise<void>;
  readonly options: LookupOptions;
}

/** The caller's time budget; in Lambda, `context.getRemainingTimeInMillis`. */
export interface LookupContext {
  readonly remainingTimeMs: () => number;
}

/**
 * No tier could rule: the legacy service could not be asked (down, breaker open, its call slots
 * busy, no time left) and nothing else knows the identifier. A 503 with Retry-After, never cached,
 * unlike "not found" (404), which it has ruled.
 */
export class LegacyUnreachable {
  constructor(readonly retryAfterSeconds: number) {}
}

type Outcome = LookupResult | null | LegacyUnreachable;

/** What one legacy call gave: an answer, "does not know" (null), no ruling, or an answer refused. */
type LegacyVerdict = LegacyAnswer | null | LegacyUnreachable | "conflict";

/** Retry-After when the legacy service could not be asked: its breaker's reset is the longer wait. */
const RETRY_AFTER_BREAKER_OPEN_SECONDS = 5;
const RETRY_AFTER_LEGACY_FAILED_SECONDS = 1;

/** One identifier of a batch: a bare string (the digit rule decides) or one whose kind the caller names. */
export type LookupRequest = string | { readonly kind: IdentifierKind; readonly value: string };

const keyOf = (identifier: Identifier) => `${identifier.kind}:${identifier.value}`;

function fromCache(value: Extract<CachedLookup, { kind: "hit" }>): LookupResult {
  return { telegramId: value.telegramId, userId: value.userId, okxUid: value.okxUid, source: "cache" };
}

/**
 * Resolves an identifier to the Telegram id to notify, in tiers: cache, database, legacy service,
 * direct. Misses are cached negatively, concurrent misses of one identifier share one database
 * query in this container, and a short Redis lock keeps other containers from piling on.
 */
export class LookupService {
  private readonly inflight = new Map<string, Promise<Outcome>>();
  /** The cache calls go through; replaced by the request's own view in forRequest(). */
  private readonly cache: RequestCache;

  constructor(private readonly deps: LookupDeps) {
    this.cache = deps.cache.forRequest();
  }

  /**
   * Throws NotFoundError for an identifier no tier knows, ValidationError for a malformed one.
   * `kind` is what the caller says the identifier is; without it the digit rule decides.
   */
  async resolve(raw: string, context: LookupContext, field = "identifier", kind?: IdentifierKind): Promise<LookupResult> {
    return this.lookup(identifierOf(raw, kind, field), context);
  }

  /** The same for an identifier already parsed (identifier.ts). */
  async lookup(identifier: Identifier, context: LookupContext): Promise<LookupResult> {
    const [outcome] = await this.resolveIdentifiers([identifier], context, true);
    if (outcome instanceof LegacyUnreachable) {
      throw new UnavailableError(`the legacy lookup service could not be asked about this ${identifier.kind}; retry later`, { retryAfterSeconds: outcome.retryAfterSeconds });
    }
    if (!outcome) throw new NotFoundError(`no Telegram id known for this ${identifier.kind}`);
    return outcome;
  }

  /** One cache round trip for all, one SQL query for all misses; unknown ones reported, not thrown. */
  async resolveMany(requests: readonly LookupRequest[], context: LookupContext): Promise<BatchEntry[]> {
    const identifiers = requests.map((request, index) =>
      typeof request === "string"
        ? identifierOf(request, undefined, `body.identifiers.${index}`)
        : identifierOf(request.value, request.kind, `body.identifiers.${index}.value`),
    );
    const outcomes = await this.resolveIdentifiers(identifiers, context, false);
    return requests.map((request, index) => {
      const raw = typeof request === "string" ? request : request.value;
      const kind = identifiers[index]?.kind ?? "telegram_id";
      const result = outcomes[index];
      if (result instanceof LegacyUnreachable) return { identifier: raw, kind, found: false, reason: "unavailable" };
      return result ? { identifier: raw, kind, found: true, result } : { identifier: raw, kind, found: false, reason: "not_found" };
    });
  }

  private async resolveIdentifiers(identifiers: readonly Identifier[], context: LookupContext, lockAcrossContainers: boolean): Promise<Outcome[]> {
    const outcomes = new Map<string, Outcome>();
    const pending: Promise<void>[] = [];
    const mine: Identifier[] = [];
    const settlers = new Map<string, { resolve: (outcome: Outcome) => void; reject: (error: unknown) => void }>();
    for (const identifier of new Map(identifiers.map((id) => [keyOf(id), id])).values()) {
      const key = keyOf(identifier);
      const shared = this.inflight.get(key);
      if (shared) {
        // Already being resolved in this container: share that answer, not even a cache read.
        pending.push(this.share(key, shared, outcomes));
        continue;
      }
      // Registered before the first await, so lookups arriving in the same tick share it too.
      const promise = new Promise<Outcome>((resolve, reject) => settlers.set(key, { resolve, reject }));
      promise.catch(() => undefined);
      this.inflight.set(key, promise);
      mine.push(identifier);
    }

    if (mine.length > 0) {
      try {
        const settled = await this.forRequest().resolveOwn(mine, context, lockAcrossContainers);
        for (const identifier of mine) {
          const key = keyOf(identifier);
          const outcome = settled.get(key) ?? null;
          outcomes.set(key, outcome);
          settlers.get(key)?.resolve(outcome);
        }
      } catch (error) {
        for (const settler of settlers.values()) settler.reject(error);
        throw error;
      } finally {
        for (const identifier of mine) this.inflight.delete(keyOf(identifier));
      }
    }
    await Promise.all(pending);
    return identifiers.map((identifier) => outcomes.get(keyOf(identifier)) ?? null);
  }

  /**
   * This service as one request sees it: the same state (the in-flight map, through the
   * prototype) with the request's own view of the cache, so once one of its cache calls has failed
   * (a timeout), the request makes no other and pays at most one cache timeout.
   */
  private forRequest(): this {
    const view = Object.create(this) as this;
    Object.defineProperty(view, "cache", { value: this.deps.cache.forRequest() });
    return view;
  }

  /** Cache first, then one fill for every miss; counts each lookup by the tier that answered. */
  private async resolveOwn(identifiers: readonly Identifier[], context: LookupContext, lockAcrossContainers: boolean): Promise<Map<string, Outcome>> {
    const [only] = identifiers;
    if (lockAcrossContainers && only && identifiers.length === 1) {
      return new Map([[keyOf(only), await this.resolveSingle(only, context)]]);
    }
    const results = new Map<string, Outcome>();
    const reads = await this.cache.getMany(identifiers);
    const misses: Identifier[] = [];
    const slots = new Map<string, string | null>();
    identifiers.forEach((identifier, index) => {
      const entry = reads[index]?.entry;
      if (entry?.kind === "hit") {
        results.set(keyOf(identifier), fromCache(entry));
        this.deps.stats.resolved("cache");
      } else if (entry?.kind === "miss") {
        results.set(keyOf(identifier), null);
        this.deps.stats.unknown(true);
      } else {
        misses.push(identifier);
        slots.set(keyOf(identifier), reads[index]?.slot ?? null);
      }
    });
    if (misses.length > 0) {
      const filled = await this.fillFromSources(misses, context, slots, undefined);
      for (const identifier of misses) {
        const outcome = filled.get(keyOf(identifier)) ?? null;
        results.set(keyOf(identifier), outcome);
        this.count(outcome);
      }
    }
    return results;
  }

  /** Takes the answer of a resolution already under way and counts it as this lookup's. */
  private async share(key: string, shared: Promise<Outcome>, outcomes: Map<string, Outcome>): Promise<void> {
    const outcome = await shared;
    outcomes.set(key, outcome);
    this.count(outcome);
  }

  private count(outcome: Outcome): void {
    if (outcome instanceof LegacyUnreachable) this.deps.stats.unavailable();
    else if (outcome) this.deps.stats.resolved(outcome.source);
    else this.deps.stats.unknown(false);
  }

  /**
   * One identifier, with cross-container stampede protection: the cache read takes the fill lock
   * when the entry is absent (one round trip); whoever does not get it waits briefly for the filler.
   */
  private async resolveSingle(identifier: Identifier, context: LookupContext): Promise<Outcome> {
    const { entry, slot, locked } = await this.cache.getOrLockFill(identifier, this.deps.options.fillLockMs);
    const answered = entry ?? (locked ? undefined : await this.waitForFiller(identifier));
    if (answered?.kind === "hit") {
      this.deps.stats.resolved("cache");
      return fromCache(answered);
    }
    if (answered?.kind === "miss") {
      this.deps.stats.unknown(true);
      return null;
    }
    try {
      // The lock goes back in the same round trip as the cache write.
      const filled = await this.fillFromSources([identifier], context, new Map([[keyOf(identifier), slot]]), locked ? identifier : undefined);
      const outcome = filled.get(keyOf(identifier)) ?? null;
      this.count(outcome);
      return outcome;
    } catch (error) {
      if (locked) await this.cache.releaseFill(identifier);
      throw error;
    }
  }

  /** Another container holds the fill lock: poll the cache briefly; undefined = gave up waiting. */
  private async waitForFiller(identifier: Identifier): Promise<CachedLookup | undefined> {
    const { fillWaitMs, fillPollMs } = this.deps.options;
    this.deps.stats.fillWait();
    for (let waited = 0; waited < fillWaitMs; waited += fillPollMs) {
      await this.deps.sleep(fillPollMs);
      const [read] = await this.cache.getMany([identifier]);
      if (read?.entry) return read.entry;
    }
    return undefined;
  }

  private async fillFromSources(
    identifiers: readonly Identifier[],
    context: LookupContext,
    /** What each slot held when read, so the write-back cannot overwrite a newer invalidation. */
    slots: ReadonlyMap<string, string | null>,
    heldLock: Identifier | undefined,
  ): Promise<Map<string, Outcome>> {
    const { results, unresolved } = await this.fromDatabase(identifiers);
    const verdicts = await this.fromLegacy(unresolved, context);
    // Identifiers the legacy tier could not rule on: a telegram id falls back to `direct`, cached
    // only briefly so a recovered legacy service gets asked again soon; the others are unreachable.
    const brief = new Set<string>();
    // Refused answers and unreachable outcomes are not cached: the next lookup asks again.
    const uncached = new Set<string>();
    for (const identifier of unresolved) {
      const key = keyOf(identifier);
      const verdict = verdicts.get(key) ?? null;
      const direct: LookupResult | null = identifier.kind === "telegram_id" ? { telegramId: identifier.value, userId: null, okxUid: null, source: "direct" } : null;
      if (verdict === "conflict") {
        uncached.add(key);
        results.set(key, direct);
      } else if (verdict instanceof LegacyUnreachable) {
        if (direct) brief.add(key);
        else uncached.add(key);
        results.set(key, direct ?? verdict);
      } else {
        results.set(key, verdict ? { ...verdict, source: "legacy" } : direct);
      }
    }
    await this.writeBack(identifiers, results, { brief, uncached, slots, heldLock });
    return results;
  }

  /** Active mappings answer; a deactivated one is unknown, and neither legacy nor the direct rule may revive it. */
  private async fromDatabase(identifiers: readonly Identifier[]): Promise<{ results: Map<string, Outcome>; unresolved: Identifier[] }> {
    const results = new Map<string, Outcome>();
    const mappings = await this.deps.repository.findMappings(identifiers);
    const unresolved: Identifier[] = [];
    for (const identifier of identifiers) {
      const matching = mappings.filter((candidate) => mappingMatches(candidate, identifier));
      const mapping = matching.find((candidate) => candidate.isActive);
      if (mapping) {
        results.set(keyOf(identifier), { telegramId: mapping.telegramId, userId: mapping.userId, okxUid: mapping.okxUid, source: "database" });
      } else if (matching.length > 0) {
        results.set(keyOf(identifier), null);
      } else {
        unresolved.push(identifier);
      }
    }
    return { results, unresolved };
  }

  /** Asks the legacy service about each identifier (its adapter bounds the calls in flight). */
  private async fromLegacy(unresolved: readonly Identifier[], context: LookupContext): Promise<Map<string, LegacyVerdict>> {
    const verdicts = new Map<string, LegacyVerdict>();
    if (!this.deps.legacy.enabled || unresolved.length === 0) return verdicts;
    const budgetMs = Math.min(this.deps.options.legacyTimeoutMs, context.remainingTimeMs() - this.deps.options.legacyReserveMs);
    await Promise.all(
      unresolved.map(async (identifier) => {
        const verdict = budgetMs > 0 ? await this.askLegacy(identifier, budgetMs) : new LegacyUnreachable(RETRY_AFTER_LEGACY_FAILED_SECONDS);
        verdicts.set(keyOf(identifier), verdict);
      }),
    );
    return verdicts;
  }

  private async writeBack(
    identifiers: readonly Identifier[],
    results: ReadonlyMap<string, Outcome>,
    how: { brief: ReadonlySet<string>; uncached: ReadonlySet<string>; slots: ReadonlyMap<string, string | null>; heldLock: Identifier | undefined },
  ): Promise<void> {
    const { positiveTtlSeconds, negativeTtlSeconds } = this.deps.options;
    const writes = identifiers.flatMap((identifier) => {
      const key = keyOf(identifier);
      const outcome = results.get(key) ?? null;
      if (how.uncached.has(key) || outcome instanceof LegacyUnreachable) return [];
      const value: CachedLookup = outcome
        ? { kind: "hit", telegramId: outcome.telegramId, userId: outcome.userId, okxUid: outcome.okxUid, origin: outcome.source === "cache" ? "database" : outcome.source }
        : { kind: "miss" };
      const ttlSeconds = outcome && !how.brief.has(key) ? positiveTtlSeconds : negativeTtlSeconds;
      return [{ identifier, value, ttlSeconds, expectedSlot: how.slots.get(key) ?? null }];
    });
    await this.cache.setMany(writes, how.heldLock);
  }

  private async askLegacy(identifier: Identifier, budgetMs: number): Promise<LegacyVerdict> {
    let answer: LegacyAnswer | null;
    try {
      answer = await this.deps.legacy.lookup(identifier, budgetMs);
    } catch (error) {
      return this.legacyFailed(identifier, error);
    }
    if (!answer) return null;
    const problem = legacyAnswerProblem(answer, identifier);
    if (problem) return this.refuse(identifier, problem);
    return this.learn(completeLegacyAnswer(answer, identifier), identifier);
  }

  private legacyFailed(identifier: Identifier, error: unknown): LegacyUnreachable {
    if (error instanceof LegacyBreakerOpenError) {
      this.deps.stats.legacyShortCircuit();
      return new LegacyUnreachable(RETRY_AFTER_BREAKER_OPEN_SECONDS);
    }
    if (error instanceof LegacyBusyError) this.deps.stats.legacyBusy();
    else this.deps.stats.legacyError();
    // Telegram ids and okx uids are personal: logged at debug level only.
    this.deps.log.warn("legacy lookup failed", { kind: identifier.kind, reason: errorMessage(error) });
    this.deps.log.debug("legacy lookup failed for", { identifier: keyOf(identifier) });
    return new LegacyUnreachable(RETRY_AFTER_LEGACY_FAILED_SECONDS);
  }

  /** A legacy answer that is not served, not cached and not learned. */
  private refuse(asked: Identifier, reason: string): "conflict" {
    this.deps.stats.legacyConflict();
    this.deps.log.warn("legacy answer refused as a conflict", { kind: asked.kind, reason });
    this.deps.log.debug("legacy answer refused for", { asked: keyOf(asked) });
    return "conflict";
  }

  /**
   * Checks the answer against the stored mappings sharing one of its identifiers, then writes what
   * it taught us, so the next miss is answered by the database.
   */
  private async learn(answer: LegacyAnswer, asked: Identifier): Promise<LegacyVerdict> {
    const related = await this.deps.repository.findMappings([
      { kind: "telegram_id", value: answer.telegramId },
      ...(answer.okxUid ? [{ kind: "okx_uid" as const, value: answer.okxUid }] : []),
      ...(answer.userId ? [{ kind: "user_id" as const, value: answer.userId }] : []),
    ]);
    const stored = storedMappingFor(answer, related);
    if ("conflict" in stored) return this.refuse(asked, stored.conflict);
    const existing = stored.mapping;
    try {
      const change = await this.deps.repository.upsert(
        { userId: existing?.userId ?? answer.userId ?? this.deps.ids.uuid(), telegramId: answer.telegramId, okxUid: answer.okxUid ?? existing?.okxUid ?? null, isActive: true },
        "legacy",
      );
      // A gap filled in an existing mapping changes what its other identifiers should answer; the
      // asked identifier's slot is the one this fill is about to write.
      await deliverInvalidation({ ...this.deps.invalidations, cache: this.cache }, change.invalidation, [asked]);
      return { telegramId: change.current.telegramId, userId: change.current.userId, okxUid: change.current.okxUid };
    } catch (error) {
      // Someone claimed an identifier of the answer meanwhile: a conflict like the others.
      if (error instanceof ConflictError) return this.refuse(asked, error.message);
      // Checked but not recorded (the database failed the write): it still serves this call.
      this.deps.log.error("could not record legacy mapping", { reason: errorMessage(error) });
      return answer;
    }
  }
}
