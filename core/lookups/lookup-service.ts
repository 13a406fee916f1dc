import { CacheFill } from "../cache/model";
import type { CacheAnswer, Filled } from "../cache/model";
import type { ReadThroughCache, ReadThroughOptions } from "../cache/read-through-cache";
import { defaultReadThroughOptions } from "../cache/read-through-cache";
import type { IdGenerator } from "../clock";
import { ConflictError, NotFoundError, UnavailableError, errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { identifierKey, identifierOf } from "./identifier";
import type { Identifier, IdentifierKind } from "./identifier";
import { completeLegacyAnswer, legacyAnswerProblem, storedMappingFor } from "./legacy-answer";
import { LOOKUP_CACHE, deliverInvalidation } from "./invalidation";
import type { InvalidationDeliveryDeps } from "./invalidation";
import { mappingMatches } from "./model";
import type { BatchEntry, LegacyAnswer, LookupResult } from "./model";
import { LegacyBreakerOpenError, LegacyBusyError } from "./ports";
import type { LegacyLookup, MappingRepository } from "./ports";
import type { LookupStats } from "./stats";

export interface LookupOptions {
  /** Upper bound of a legacy call, and the time kept back for the rest of the invocation. */
  readonly legacyTimeoutMs: number;
  readonly legacyReserveMs: number;
}

export const defaultLookupOptions: LookupOptions = {
  legacyTimeoutMs: 1_500,
  legacyReserveMs: 250,
};

/**
 * How lookups use the shared read-through cache (core/cache): an hour for answers, 30 s for
 * "unknown", no stale serving (an answer is right or not given), and a breaker that opens after 3
 * failed Redis calls in a row.
 */
export const defaultLookupCacheOptions: ReadThroughOptions = {
  ...defaultReadThroughOptions,
  name: LOOKUP_CACHE,
  ttlMs: 3_600_000,
  negativeTtlMs: 30_000,
  staleIfErrorMs: 0,
  fillLockMs: 1_000,
  storeTimeoutMs: 100,
  storeFailuresToOpen: 3,
  storeCooldownMs: 2_000,
};

/** What the lookups cache holds (answers of the tiers) and what a fill may answer without storing it. */
export type LookupValue = LookupResult | LegacyUnreachable;

export interface LookupDeps {
  readonly repository: MappingRepository;
  /** Keyed by identifierKey(); never throws because of Redis (see ReadThroughCache). */
  readonly cache: ReadThroughCache<LookupValue>;
  /** Delivers the invalidation a mapping learned from the legacy service owes. */
  readonly invalidations: InvalidationDeliveryDeps;
  readonly legacy: LegacyLookup;
  readonly stats: LookupStats;
  readonly ids: IdGenerator;
  readonly log: LogPort;
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

const keyOf = identifierKey;

/**
 * Resolves an identifier to the Telegram id to notify, in tiers: cache, database, legacy service,
 * direct. The cache (core/cache) shares one fill among concurrent lookups of an identifier in this
 * container, keeps other containers from piling on with a short fill lock, caches misses
 * negatively, and writes a fill back only if no invalidation landed meanwhile (tombstones).
 */
export class LookupService {
  constructor(private readonly deps: LookupDeps) {
    deps.cache.metrics.observe((counter) => {
      if (counter === "lockWaits") deps.stats.fillWait();
      else if (counter === "storeErrors" || counter === "storeSkips") deps.stats.cacheError();
    });
  }

  /**
   * Throws NotFoundError for an identifier no tier knows, ValidationError for a malformed one.
   * `kind` is what the caller says the identifier is; without it the digit rule decides.
   */
  async resolve(raw: string, context: LookupContext, field = "identifier", kind?: IdentifierKind): Promise<LookupResult> {
    return this.lookup(identifierOf(raw, kind, field), context);
  }

  /** The same for an identifier already parsed (identifier.ts); with the cross-container fill lock. */
  async lookup(identifier: Identifier, context: LookupContext): Promise<LookupResult> {
    const key = keyOf(identifier);
    const answer = await this.deps.cache.get({ key, tags: [], fill: async () => (await this.fill([identifier], context)).get(key) ?? null });
    const outcome = this.counted(answer);
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
    const byKey = new Map(identifiers.map((identifier) => [keyOf(identifier), identifier]));
    const answers = await this.deps.cache.getMany([...byKey.keys()], (keys) => this.fill(keys.flatMap((key) => byKey.get(key) ?? []), context));
    const outcomes = new Map([...answers].map(([key, answer]) => [key, this.counted(answer)]));
    return requests.map((request, index) => {
      const raw = typeof request === "string" ? request : request.value;
      const identifier = identifiers[index];
      const kind = identifier?.kind ?? "telegram_id";
      const result = identifier ? (outcomes.get(keyOf(identifier)) ?? null) : null;
      if (result instanceof LegacyUnreachable) return { identifier: raw, kind, found: false, reason: "unavailable" };
      return result ? { identifier: raw, kind, found: true, result } : { identifier: raw, kind, found: false, reason: "not_found" };
    });
  }

  /** Counts one lookup by the tier that answered it (a read that joined a fill counts as that fill's). */
  private counted(answer: CacheAnswer<LookupValue>): Outcome {
    const { value } = answer;
    if (answer.outcome !== "hit" || value instanceof LegacyUnreachable) {
      this.count(value);
      return value;
    }
    if (!value) {
      this.deps.stats.unknown(true);
      return null;
    }
    this.deps.stats.resolved("cache");
    return { telegramId: value.telegramId, userId: value.userId, okxUid: value.okxUid, source: "cache" };
  }

  private count(outcome: Outcome): void {
    if (outcome instanceof LegacyUnreachable) this.deps.stats.unavailable();
    else if (outcome) this.deps.stats.resolved(outcome.source);
    else this.deps.stats.unknown(false);
  }

  /** The database, then the legacy service for what it does not know; what to cache, and how long. */
  private async fill(identifiers: readonly Identifier[], context: LookupContext): Promise<Map<string, Filled<LookupValue>>> {
    const { results, unresolved } = await this.fromDatabase(identifiers);
    const verdicts = await this.fromLegacy(unresolved, context);
    const filled = new Map<string, Filled<LookupValue>>(results);
    for (const identifier of unresolved) filled.set(keyOf(identifier), this.fromVerdict(identifier, verdicts.get(keyOf(identifier)) ?? null));
    return filled;
  }

  /**
   * A telegram id the legacy tier could not rule on falls back to `direct`, cached only briefly so
   * a recovered legacy service gets asked again soon; other identifiers are unreachable. Refused
   * answers and unreachable outcomes are not cached: the next lookup asks again.
   */
  private fromVerdict(identifier: Identifier, verdict: LegacyVerdict): Filled<LookupValue> {
    const direct: LookupResult | null = identifier.kind === "telegram_id" ? { telegramId: identifier.value, userId: null, okxUid: null, source: "direct" } : null;
    if (verdict === "conflict") return new CacheFill<LookupValue>(direct, null);
    if (verdict instanceof LegacyUnreachable) return direct ? new CacheFill<LookupValue>(direct, this.deps.cache.options.negativeTtlMs) : new CacheFill<LookupValue>(verdict, null);
    return verdict ? { ...verdict, source: "legacy" } : direct;
  }

  /** Active mappings answer; a deactivated one is unknown, and neither legacy nor the direct rule may revive it. */
  private async fromDatabase(identifiers: readonly Identifier[]): Promise<{ results: Map<string, LookupResult | null>; unresolved: Identifier[] }> {
    const results = new Map<string, LookupResult | null>();
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
      await deliverInvalidation(this.deps.invalidations, change.invalidation, [asked]);
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
