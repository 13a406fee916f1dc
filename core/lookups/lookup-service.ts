import { isUuid } from "../identity/uuid";
import type { IdGenerator } from "../clock";
import { ConflictError, NotFoundError, errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { identifierOf } from "./identifier";
import type { Identifier, IdentifierKind } from "./identifier";
import { deliverInvalidation } from "./invalidation";
import type { InvalidationDeliveryDeps } from "./invalidation";
import { mappingMatches } from "./model";
import type { BatchEntry, CachedLookup, LegacyAnswer, LookupResult } from "./model";
import { LegacyBreakerOpenError } from "./ports";
import type { LegacyLookup, LookupCache, MappingRepository, RequestCache, RequestScopedCache } from "./ports";
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

type Outcome = LookupResult | null;

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

  constructor(private readonly deps: LookupDeps) {}

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
      return result ? { identifier: raw, kind, found: true, result } : { identifier: raw, kind, found: false };
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
        // One view per request: once a cache call has failed, the request makes no other.
        const settled = await this.resolveOwn(mine, context, lockAcrossContainers, this.deps.cache.forRequest());
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

  /** Cache first, then one fill for every miss; counts each lookup by the tier that answered. */
  private async resolveOwn(
    identifiers: readonly Identifier[],
    context: LookupContext,
    lockAcrossContainers: boolean,
    cache: RequestCache,
  ): Promise<Map<string, Outcome>> {
    const [only] = identifiers;
    if (lockAcrossContainers && only && identifiers.length === 1) {
      return new Map([[keyOf(only), await this.resolveSingle(only, context, cache)]]);
    }
    const results = new Map<string, Outcome>();
    const reads = await cache.getMany(identifiers);
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
      const filled = await this.fillFromSources(misses, context, slots, undefined, cache);
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
    if (outcome) this.deps.stats.resolved(outcome.source);
    else this.deps.stats.unknown(false);
  }

  /**
   * One identifier, with cross-container stampede protection: the cache read takes the fill lock
   * when the entry is absent (one round trip); whoever does not get it waits briefly for the filler.
   */
  private async resolveSingle(identifier: Identifier, context: LookupContext, cache: RequestCache): Promise<Outcome> {
    const { entry, slot, locked } = await cache.getOrLockFill(identifier, this.deps.options.fillLockMs);
    const answered = entry ?? (locked ? undefined : await this.waitForFiller(identifier, cache));
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
      const filled = await this.fillFromSources([identifier], context, new Map([[keyOf(identifier), slot]]), locked ? identifier : undefined, cache);
      const outcome = filled.get(keyOf(identifier)) ?? null;
      this.count(outcome);
      return outcome;
    } catch (error) {
      if (locked) await cache.releaseFill(identifier);
      throw error;
    }
  }

  /** Another container holds the fill lock: poll the cache briefly; undefined = gave up waiting. */
  private async waitForFiller(identifier: Identifier, cache: LookupCache): Promise<CachedLookup | undefined> {
    const { fillWaitMs, fillPollMs } = this.deps.options;
    this.deps.stats.fillWait();
    for (let waited = 0; waited < fillWaitMs; waited += fillPollMs) {
      await this.deps.sleep(fillPollMs);
      const [read] = await cache.getMany([identifier]);
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
    cache: RequestCache,
  ): Promise<Map<string, Outcome>> {
    const results = new Map<string, Outcome>();
    const mappings = await this.deps.repository.findMappings(identifiers);
    const unresolved: Identifier[] = [];
    for (const identifier of identifiers) {
      const matching = mappings.filter((candidate) => mappingMatches(candidate, identifier));
      const mapping = matching.find((candidate) => candidate.isActive);
      if (mapping) {
        results.set(keyOf(identifier), { telegramId: mapping.telegramId, userId: mapping.userId, okxUid: mapping.okxUid, source: "database" });
      } else if (matching.length > 0) {
        // Deactivated by an admin: unknown, and neither the legacy service nor the direct rule may revive it.
        results.set(keyOf(identifier), null);
      } else {
        unresolved.push(identifier);
      }
    }

    // Identifiers the legacy tier could not rule on (down, breaker open, no time left): their
    // fallback answer is cached only briefly, so a recovered legacy service gets asked again soon.
    const inconclusive = new Set<string>();
    const budgetMs = Math.min(this.deps.options.legacyTimeoutMs, context.remainingTimeMs() - this.deps.options.legacyReserveMs);
    if (this.deps.legacy.enabled && unresolved.length > 0) {
      await Promise.all(
        unresolved.map(async (identifier) => {
          const answer = budgetMs > 0 ? await this.askLegacy(identifier, budgetMs, cache) : "inconclusive";
          if (answer === "inconclusive") inconclusive.add(keyOf(identifier));
          else if (answer) results.set(keyOf(identifier), { ...answer, source: "legacy" });
        }),
      );
    }

    for (const identifier of unresolved) {
      const key = keyOf(identifier);
      if (results.has(key)) continue;
      results.set(
        key,
        identifier.kind === "telegram_id" ? { telegramId: identifier.value, userId: null, okxUid: null, source: "direct" } : null,
      );
    }

    const { positiveTtlSeconds, negativeTtlSeconds } = this.deps.options;
    await cache.setMany(
      identifiers.map((identifier) => {
        const key = keyOf(identifier);
        const outcome = results.get(key) ?? null;
        const value: CachedLookup = outcome
          ? { kind: "hit", telegramId: outcome.telegramId, userId: outcome.userId, okxUid: outcome.okxUid, origin: outcome.source === "cache" ? "database" : outcome.source }
          : { kind: "miss" };
        const ttlSeconds = outcome && !inconclusive.has(key) ? positiveTtlSeconds : negativeTtlSeconds;
        return { identifier, value, ttlSeconds, expectedSlot: slots.get(key) ?? null };
      }),
      heldLock,
    );
    return results;
  }

  private async askLegacy(identifier: Identifier, budgetMs: number, cache: RequestCache): Promise<LegacyAnswer | null | "inconclusive"> {
    let answer: LegacyAnswer | null;
    try {
      answer = await this.deps.legacy.lookup(identifier, budgetMs);
    } catch (error) {
      if (error instanceof LegacyBreakerOpenError) this.deps.stats.legacyShortCircuit();
      else {
        this.deps.stats.legacyError();
        // Telegram ids and okx uids are personal: logged at debug level only.
        this.deps.log.warn("legacy lookup failed", { kind: identifier.kind, reason: errorMessage(error) });
        this.deps.log.debug("legacy lookup failed for", { identifier: keyOf(identifier) });
      }
      return "inconclusive";
    }
    if (!answer) return null;
    const learned: LegacyAnswer = {
      telegramId: answer.telegramId,
      okxUid: answer.okxUid ?? (identifier.kind === "okx_uid" ? identifier.value : null),
      userId: answer.userId && isUuid(answer.userId) ? answer.userId.toLowerCase() : identifier.kind === "user_id" ? identifier.value : null,
    };
    return this.learn(learned, identifier, cache);
  }

  /** Writes what the legacy service taught us, so the next miss is answered by the database. */
  private async learn(answer: LegacyAnswer, asked: Identifier, cache: RequestCache): Promise<LegacyAnswer> {
    try {
      const existing = answer.userId
        ? await this.deps.repository.getByUserId(answer.userId)
        : ((await this.deps.repository.search({ telegramId: answer.telegramId }))[0] ?? null);
      // The legacy service may fill gaps of a stored mapping, never change or re-activate one.
      if (
        existing &&
        (!existing.isActive ||
          existing.telegramId !== answer.telegramId ||
          (existing.okxUid !== null && answer.okxUid !== null && existing.okxUid !== answer.okxUid))
      ) {
        throw new ConflictError(`legacy answer disagrees with the stored mapping of user ${existing.userId}`);
      }
      const change = await this.deps.repository.upsert(
        {
          userId: existing?.userId ?? answer.userId ?? this.deps.ids.uuid(),
          telegramId: answer.telegramId,
          okxUid: answer.okxUid ?? existing?.okxUid ?? null,
          isActive: true,
        },
        "legacy",
      );
      // A gap filled in an existing mapping changes what its other identifiers should answer; the
      // asked identifier's slot is the one this fill is about to write.
      await deliverInvalidation({ ...this.deps.invalidations, cache }, change.invalidation, [asked]);
      return { telegramId: change.current.telegramId, userId: change.current.userId, okxUid: change.current.okxUid };
    } catch (error) {
      // A conflicting mapping is never overwritten by the legacy service; the answer still serves this call.
      const level = error instanceof ConflictError ? "warn" : "error";
      this.deps.log[level]("could not record legacy mapping", { reason: errorMessage(error) });
      this.deps.log.debug("legacy mapping not recorded", { telegramId: answer.telegramId, asked: keyOf(asked) });
      return answer;
    }
  }
}
