import { randomInt, randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { UnavailableError, NotFoundError, ValidationError } from "../../core/errors";
import { LegacyBreakerOpenError } from "../../core/lookups/ports";
import type { Identifier } from "../../core/lookups/identifier";
import { defaultLookupCacheOptions } from "../../core/lookups/lookup-service";
import type { LookupResult } from "../../core/lookups/model";
import { LookupStats } from "../../core/lookups/stats";
import { putMapping } from "../../core/lookups/mapping-admin";
import { ample, harness } from "./support/memory";

/** Telegram ids above 2^31, 18-digit OKX UIDs, random user ids. */
const tg = () => String(7_000_000_000 + randomInt(1, 999_999_999));
const okx = () => `5187965580${randomInt(10_000_000, 100_000_000)}`;
const okxId = (value: string): Identifier => ({ kind: "okx_uid", value });
const tgId = (value: string): Identifier => ({ kind: "telegram_id", value });
const userIdOf = (value: string): Identifier => ({ kind: "user_id", value });

function seeded() {
  const h = harness();
  const user = { userId: randomUUID(), telegramId: tg(), okxUid: okx(), isActive: true };
  h.repository.seed(user);
  return { h, user };
}

describe("tiers", () => {
  it("answers from the database first, then from the cache that answer filled", async () => {
    const { h, user } = seeded();
    const first = await h.service.resolve(user.okxUid, ample);
    expect(first).toEqual({ telegramId: user.telegramId, userId: user.userId, okxUid: user.okxUid, source: "database" });
    expect(Number(first.telegramId)).toBeGreaterThan(2 ** 31);
    expect(h.cache.writes).toEqual([
      {
        identifier: okxId(user.okxUid),
        value: { telegramId: user.telegramId, userId: user.userId, okxUid: user.okxUid, source: "database" },
        ttlSeconds: defaultLookupCacheOptions.ttlMs / 1000,
        expectedSlot: null,
      },
    ]);

    const second = await h.service.resolve(user.okxUid, ample);
    expect(second).toEqual({ ...first, source: "cache" });
    expect(h.repository.findMappingsCalls).toHaveLength(1);
    expect(h.legacy.calls).toHaveLength(0);
  });

  it("finds a mapping by user id (any case) and by Telegram id", async () => {
    const { h, user } = seeded();
    const expected: LookupResult = { telegramId: user.telegramId, userId: user.userId, okxUid: user.okxUid, source: "database" };
    expect(await h.service.resolve(user.userId.toUpperCase(), ample)).toEqual(expected);
    expect(await h.service.resolve(user.telegramId, ample)).toEqual(expected);
    expect(h.repository.findMappingsCalls).toEqual([[userIdOf(user.userId)], [tgId(user.telegramId)]]);
  });

  it("asks the legacy service on a database miss and learns the answer, so the next cold lookup is the database's", async () => {
    const h = harness();
    const userId = randomUUID();
    const telegramId = tg();
    const okxUid = okx();
    h.legacy.answers.set(okxUid, { telegramId, userId: userId.toUpperCase(), okxUid: null });

    expect(await h.service.resolve(okxUid, ample)).toEqual({ telegramId, userId, okxUid, source: "legacy" });
    expect(h.repository.rows.get(userId)).toMatchObject({ userId, telegramId, okxUid, isActive: true, source: "legacy" });
    expect(h.cache.peek(okxId(okxUid))).toMatchObject({ source: "legacy", telegramId });

    h.cache.clear();
    expect(await h.service.resolve(okxUid, ample)).toEqual({ telegramId, userId, okxUid, source: "database" });
    expect(h.legacy.calls).toHaveLength(1);
  });

  it("gives a legacy answer without a user id a new user", async () => {
    const h = harness();
    const telegramId = tg();
    const okxUid = okx();
    h.legacy.answers.set(okxUid, { telegramId, userId: null, okxUid });

    const result = await h.service.resolve(okxUid, ample);
    expect(h.ids.issued).toHaveLength(1);
    expect(result).toEqual({ telegramId, userId: h.ids.issued[0], okxUid, source: "legacy" });
    expect(h.repository.rows.get(h.ids.issued[0] ?? "")).toMatchObject({ telegramId, okxUid, source: "legacy" });
  });

  it("answers an unmapped Telegram id directly, after the database and the legacy service", async () => {
    const h = harness();
    const telegramId = tg();
    expect(await h.service.resolve(telegramId, ample)).toEqual({ telegramId, userId: null, okxUid: null, source: "direct" });
    expect(h.repository.findMappingsCalls).toEqual([[tgId(telegramId)]]);
    expect(h.legacy.calls.map((call) => call.identifier)).toEqual([tgId(telegramId)]);
    expect(h.cache.peek(tgId(telegramId))).toMatchObject({ source: "direct", userId: null });
  });

  it("throws NotFoundError for an OKX UID or user id no tier knows", async () => {
    const h = harness();
    const okxUid = okx();
    await expect(h.service.resolve(okxUid, ample)).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.service.resolve(randomUUID(), ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.legacy.calls).toHaveLength(2);
    expect(h.repository.upserts).toEqual([]);
  });

  it("skips a disabled legacy tier", async () => {
    const h = harness({ legacyEnabled: false });
    await expect(h.service.resolve(okx(), ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.legacy.calls).toEqual([]);
  });

  it("rejects a malformed identifier before touching any tier", async () => {
    const h = harness();
    const error = await h.service.resolve("12ab", ample).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((issue) => issue.field)).toEqual(["identifier"]);
    expect(h.cache.reads).toEqual([]);
  });
});

describe("deactivated mappings", () => {
  it("answer not found for every identifier, without asking the legacy service or applying the direct rule", async () => {
    const h = harness();
    const user = { userId: randomUUID(), telegramId: tg(), okxUid: okx(), isActive: false };
    h.repository.seed(user);
    h.legacy.answers.set(user.okxUid, { telegramId: user.telegramId, userId: user.userId, okxUid: user.okxUid });
    for (const identifier of [user.okxUid, user.userId, user.telegramId]) {
      await expect(h.service.resolve(identifier, ample)).rejects.toBeInstanceOf(NotFoundError);
    }
    expect(h.legacy.calls).toEqual([]);
  });

  it("prefer the active mapping of a Telegram id that an older, deactivated user also had", async () => {
    const h = harness();
    const telegramId = tg();
    h.repository.seed({ userId: randomUUID(), telegramId, okxUid: okx(), isActive: false });
    const active = { userId: randomUUID(), telegramId, okxUid: okx(), isActive: true };
    h.repository.seed(active);
    expect(await h.service.resolve(telegramId, ample)).toMatchObject({ userId: active.userId, source: "database" });
  });
});

describe("negative caching", () => {
  it("remembers a miss: the second lookup does not query the repository nor the legacy service", async () => {
    const h = harness();
    const okxUid = okx();
    await expect(h.service.resolve(okxUid, ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.cache.writes).toEqual([{ identifier: okxId(okxUid), value: null, ttlSeconds: defaultLookupCacheOptions.negativeTtlMs / 1000, expectedSlot: null }]);

    await expect(h.service.resolve(okxUid, ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.repository.findMappingsCalls).toHaveLength(1);
    expect(h.legacy.calls).toHaveLength(1);
    expect(h.stats.snapshot()).toMatchObject({ notFound: 2, negativeHits: 1 });
  });

  it("expires with its TTL, and the repository is asked again", async () => {
    const h = harness({ options: { negativeTtlSeconds: 20 } });
    const okxUid = okx();
    await expect(h.service.resolve(okxUid, ample)).rejects.toBeInstanceOf(NotFoundError);
    // Mapped meanwhile (e.g. by another writer whose invalidation was lost): hidden until expiry.
    const userId = randomUUID();
    const telegramId = tg();
    h.repository.seed({ userId, telegramId, okxUid, isActive: true });

    h.clock.advance(20_000 - 1);
    await expect(h.service.resolve(okxUid, ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.repository.findMappingsCalls).toHaveLength(1);

    h.clock.advance(1);
    expect(await h.service.resolve(okxUid, ample)).toEqual({ telegramId, userId, okxUid, source: "database" });
    expect(h.repository.findMappingsCalls).toHaveLength(2);
  });
});

describe("in-container singleflight", () => {
  it("sends 100 concurrent lookups of one cold identifier to the repository once", async () => {
    const { h, user } = seeded();
    const release = h.repository.hold();
    const all = Promise.all(Array.from({ length: 100 }, () => h.service.resolve(user.okxUid, ample)));
    await vi.waitFor(() => expect(h.repository.findMappingsCalls).toHaveLength(1));
    release();
    const results = await all;

    expect(results).toHaveLength(100);
    for (const result of results) expect(result).toEqual({ telegramId: user.telegramId, userId: user.userId, okxUid: user.okxUid, source: "database" });
    expect(h.repository.findMappingsCalls).toHaveLength(1);
    expect(h.cache.lockAttempts).toHaveLength(1);
    // The flight is registered before the first await: one cache read for all 100, not 100.
    expect(h.cache.reads).toHaveLength(1);
    expect(h.stats.snapshot().byTier.database).toBe(100);

    // Settled flights are forgotten: a cold lookup later queries again.
    h.cache.clear();
    await h.service.resolve(user.okxUid, ample);
    expect(h.repository.findMappingsCalls).toHaveLength(2);
  });

  it("shares a failed fill with every waiter, releases the lock and does not remember the failure", async () => {
    const { h, user } = seeded();
    h.repository.failNext = new UnavailableError("database down");
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => h.service.resolve(user.okxUid, ample)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array.from({ length: 10 }, () => "rejected"));
    expect(h.repository.findMappingsCalls).toHaveLength(1);
    expect(h.cache.lockHeld(okxId(user.okxUid))).toBe(false);

    expect((await h.service.resolve(user.okxUid, ample)).source).toBe("database");
    expect(h.repository.findMappingsCalls).toHaveLength(2);
  });
});

describe("write-through invalidation racing a fill", () => {
  it("does not let a fill that read the old row cache it after the change", async () => {
    const { h, user } = seeded();
    const release = h.repository.hold();
    const racing = h.service.resolve(user.okxUid, ample);
    await vi.waitFor(() => expect(h.repository.findMappingsCalls).toHaveLength(1));
    const newTelegram = tg();
    await putMapping(h.admin, { userId: user.userId, telegramId: newTelegram, okxUid: user.okxUid, isActive: true });
    release();
    // The slow fill answers what it read, but its answer must not outlive the change in the cache.
    expect(await racing).toMatchObject({ telegramId: user.telegramId, source: "database" });
    expect(await h.service.resolve(user.okxUid, ample)).toMatchObject({ telegramId: newTelegram, source: "database" });
    expect(await h.service.resolve(user.okxUid, ample)).toMatchObject({ telegramId: newTelegram, source: "cache" });
  });
});

describe("cross-container fill lock", () => {
  const options = { fillWaitMs: 100, fillPollMs: 30, fillLockMs: 1_000 };

  it("takes the lock while filling and releases it afterwards", async () => {
    const { h, user } = seeded();
    await h.service.resolve(user.okxUid, ample);
    expect(h.cache.lockAttempts).toEqual([okxId(user.okxUid)]);
    expect(h.cache.releases).toEqual([okxId(user.okxUid)]);
    expect(h.cache.lockHeld(okxId(user.okxUid))).toBe(false);
    expect(h.sleeps).toEqual([]);
  });

  it("waits for the container holding the lock and returns its cached value without querying", async () => {
    const h = harness({ options });
    const okxUid = okx();
    const filled = { telegramId: tg(), userId: randomUUID(), okxUid };
    h.cache.holdLock(okxId(okxUid), options.fillLockMs);
    h.onSleep = (n) => {
      if (n === 2) h.cache.put(okxId(okxUid), { ...filled, source: "database" }, 60);
    };

    expect(await h.service.resolve(okxUid, ample)).toEqual({ ...filled, source: "cache" });
    expect(h.sleeps).toEqual([options.fillPollMs, options.fillPollMs]);
    expect(h.repository.findMappingsCalls).toEqual([]);
    expect(h.legacy.calls).toEqual([]);
    expect(h.cache.releases).toEqual([]);
    expect(h.stats.snapshot().fillWaits).toBe(1);
  });

  it("takes the filler's negative answer too", async () => {
    const h = harness({ options });
    const okxUid = okx();
    h.cache.holdLock(okxId(okxUid), options.fillLockMs);
    h.onSleep = () => h.cache.put(okxId(okxUid), null, 30);
    await expect(h.service.resolve(okxUid, ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.sleeps).toHaveLength(1);
    expect(h.repository.findMappingsCalls).toEqual([]);
  });

  it("gives up after fillWaitMs and queries itself, leaving the other container's lock alone", async () => {
    const h = harness({ options });
    const user = { userId: randomUUID(), telegramId: tg(), okxUid: okx(), isActive: true };
    h.repository.seed(user);
    h.cache.holdLock(okxId(user.okxUid), options.fillLockMs);

    expect(await h.service.resolve(user.okxUid, ample)).toMatchObject({ telegramId: user.telegramId, source: "database" });
    expect(h.sleeps).toEqual(Array.from({ length: Math.ceil(options.fillWaitMs / options.fillPollMs) }, () => options.fillPollMs));
    expect(h.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeGreaterThanOrEqual(options.fillWaitMs);
    expect(h.repository.findMappingsCalls).toHaveLength(1);
    expect(h.cache.releases).toEqual([]);
    expect(h.cache.lockHeld(okxId(user.okxUid))).toBe(true);
  });
});

describe("legacy deadline", () => {
  it("keeps the reserve back from the remaining time", async () => {
    const h = harness({ options: { legacyTimeoutMs: 1_500, legacyReserveMs: 250 } });
    const telegramId = tg();
    await h.service.resolve(telegramId, { remainingTimeMs: () => 1_000 });
    expect(h.legacy.calls).toHaveLength(1);
    expect(h.legacy.calls[0]?.deadlineMs).toBeGreaterThan(0);
    expect(h.legacy.calls[0]?.deadlineMs).toBeLessThanOrEqual(1_000 - 250);
  });

  it("never exceeds the legacy timeout", async () => {
    const h = harness({ options: { legacyTimeoutMs: 1_500, legacyReserveMs: 250 } });
    await h.service.resolve(tg(), { remainingTimeMs: () => 60_000 });
    expect(h.legacy.calls[0]?.deadlineMs).toBe(1_500);
  });

  it("skips the legacy service when no budget is left", async () => {
    const h = harness({ options: { legacyTimeoutMs: 1_500, legacyReserveMs: 250 } });
    const telegramId = tg();
    const okxUid = okx();
    h.legacy.answers.set(okxUid, { telegramId, userId: null, okxUid });
    const nearlyOut = { remainingTimeMs: () => 250 };
    expect(await h.service.resolve(telegramId, nearlyOut)).toMatchObject({ source: "direct" });
    // Not "not found": the legacy service was not asked, so the caller is told to retry.
    await expect(h.service.resolve(okxUid, nearlyOut)).rejects.toBeInstanceOf(UnavailableError);
    expect(h.legacy.calls).toEqual([]);
  });
});

describe("legacy answers that conflict with the database", () => {
  it("does not take a Telegram id away from the user it is mapped to", async () => {
    const { h, user } = seeded();
    const before = h.repository.rows.get(user.userId);
    const otherOkx = okx();
    const otherUser = randomUUID();
    h.legacy.answers.set(otherOkx, { telegramId: user.telegramId, userId: otherUser, okxUid: otherOkx });

    // Served, a notification for otherOkx would reach the user who owns that Telegram id.
    await expect(h.service.resolve(otherOkx, ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.repository.rows.get(user.userId)).toEqual(before);
    expect(h.repository.rows.has(otherUser)).toBe(false);
    expect(h.cache.writes.filter((entry) => entry.identifier.value === otherOkx)).toEqual([]);
    expect(h.stats.snapshot().legacyConflicts).toBe(1);
  });

  it("does not replace the OKX UID of the user owning the Telegram id", async () => {
    const { h, user } = seeded();
    const before = h.repository.rows.get(user.userId);
    const otherOkx = okx();
    h.legacy.answers.set(otherOkx, { telegramId: user.telegramId, userId: null, okxUid: otherOkx });

    await expect(h.service.resolve(otherOkx, ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.repository.rows.get(user.userId)).toEqual(before);
    expect(h.stats.snapshot().legacyConflicts).toBe(1);
    expect(await h.service.resolve(user.okxUid, ample)).toMatchObject({ okxUid: user.okxUid, source: "database" });
  });

  it("fills a missing OKX UID of the user owning the Telegram id", async () => {
    const h = harness();
    const user = { userId: randomUUID(), telegramId: tg(), okxUid: null, isActive: true };
    h.repository.seed(user);
    const okxUid = okx();
    h.legacy.answers.set(okxUid, { telegramId: user.telegramId, userId: null, okxUid });

    expect(await h.service.resolve(okxUid, ample)).toEqual({ telegramId: user.telegramId, userId: user.userId, okxUid, source: "legacy" });
    expect(h.repository.rows.get(user.userId)).toMatchObject({ okxUid, isActive: true, source: "legacy" });
    expect(h.ids.issued).toEqual([]);
  });

  it("does not re-activate a mapping an admin deactivated when asked about another of its identifiers", async () => {
    const h = harness();
    const user = { userId: randomUUID(), telegramId: tg(), okxUid: null, isActive: false };
    const before = h.repository.seed(user);
    const newOkx = okx();
    h.legacy.answers.set(newOkx, { telegramId: user.telegramId, userId: user.userId, okxUid: newOkx });

    await expect(h.service.resolve(newOkx, ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.legacy.calls).toHaveLength(1);
    expect(h.repository.rows.get(user.userId)).toEqual(before);
    expect(h.stats.snapshot().legacyConflicts).toBe(1);
  });

  it("counts legacy failures and open-breaker short circuits, and still answers", async () => {
    const h = harness();
    h.legacy.failure = new Error("legacy answered 500");
    const telegramId = tg();
    expect(await h.service.resolve(telegramId, ample)).toMatchObject({ telegramId, source: "direct" });
    h.legacy.failure = new LegacyBreakerOpenError("legacy breaker open");
    const error = await h.service.resolve(okx(), ample).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    expect(h.stats.snapshot()).toMatchObject({ legacyErrors: 1, legacyShortCircuits: 1, unavailable: 1 });
  });
});

describe("caching fallback answers", () => {
  const ttlOf = (h: ReturnType<typeof harness>, value: string) => h.cache.writes.find((entry) => entry.identifier.value === value)?.ttlSeconds;

  it("caches a direct answer for the positive TTL when the legacy service ruled on it", async () => {
    const h = harness({ options: { positiveTtlSeconds: 3600, negativeTtlSeconds: 30 } });
    const telegramId = tg();
    await h.service.resolve(telegramId, ample);
    expect(ttlOf(h, telegramId)).toBe(3600);
  });

  it("caches fallback answers only briefly when the legacy service failed, was short-circuited or had no time", async () => {
    const h = harness({ options: { positiveTtlSeconds: 3600, negativeTtlSeconds: 30 } });
    h.legacy.failure = new Error("legacy answered 500");
    const failedTelegram = tg();
    await h.service.resolve(failedTelegram, ample);
    h.legacy.failure = new LegacyBreakerOpenError("legacy breaker open");
    const shortCircuitedOkx = okx();
    await expect(h.service.resolve(shortCircuitedOkx, ample)).rejects.toBeInstanceOf(UnavailableError);
    h.legacy.failure = undefined;
    const outOfTime = tg();
    await h.service.resolve(outOfTime, { remainingTimeMs: () => 100 });
    // An okx uid nobody could rule on is not cached at all: the next lookup asks again.
    expect([ttlOf(h, failedTelegram), ttlOf(h, shortCircuitedOkx), ttlOf(h, outOfTime)]).toEqual([30, undefined, 30]);
  });

  it("invalidates the other identifiers of a mapping whose gap the legacy service filled", async () => {
    const h = harness();
    const user = { userId: randomUUID(), telegramId: tg(), okxUid: null, isActive: true };
    h.repository.seed(user);
    expect(await h.service.resolve(user.telegramId, ample)).toMatchObject({ okxUid: null, source: "database" });
    expect(await h.service.resolve(user.telegramId, ample)).toMatchObject({ okxUid: null, source: "cache" });
    const okxUid = okx();
    h.legacy.answers.set(okxUid, { telegramId: user.telegramId, userId: null, okxUid });
    await h.service.resolve(okxUid, ample);
    expect(await h.service.resolve(user.telegramId, ample)).toMatchObject({ okxUid, source: "database" });
  });
});

describe("resolveMany", () => {
  it("uses one cache read and one repository query for all misses, reporting unknown ones", async () => {
    const h = harness();
    const a = { userId: randomUUID(), telegramId: tg(), okxUid: okx(), isActive: true };
    const b = { userId: randomUUID(), telegramId: tg(), okxUid: null, isActive: true };
    h.repository.seed(a);
    h.repository.seed(b);
    h.cache.put(tgId(b.telegramId), { telegramId: b.telegramId, userId: b.userId, okxUid: null, source: "database" }, 60);
    const unknownOkx = okx();
    const unmappedTelegram = tg();
    const raws = [a.okxUid, unknownOkx, a.okxUid, a.userId.toUpperCase(), b.telegramId, unmappedTelegram, unknownOkx];

    const entries = await h.service.resolveMany(raws, ample);

    const fromA = { telegramId: a.telegramId, userId: a.userId, okxUid: a.okxUid, source: "database" };
    expect(entries).toEqual([
      { identifier: a.okxUid, kind: "okx_uid", found: true, result: fromA },
      { identifier: unknownOkx, kind: "okx_uid", found: false, reason: "not_found" },
      { identifier: a.okxUid, kind: "okx_uid", found: true, result: fromA },
      { identifier: a.userId.toUpperCase(), kind: "user_id", found: true, result: fromA },
      { identifier: b.telegramId, kind: "telegram_id", found: true, result: { telegramId: b.telegramId, userId: b.userId, okxUid: null, source: "cache" } },
      { identifier: unmappedTelegram, kind: "telegram_id", found: true, result: { telegramId: unmappedTelegram, userId: null, okxUid: null, source: "direct" } },
      { identifier: unknownOkx, kind: "okx_uid", found: false, reason: "not_found" },
    ]);
    expect(h.cache.reads).toHaveLength(1);
    expect(h.cache.reads[0]).toHaveLength(5);
    expect(h.repository.findMappingsCalls).toEqual([[okxId(a.okxUid), okxId(unknownOkx), userIdOf(a.userId), tgId(unmappedTelegram)]]);
    expect(h.legacy.calls.map((call) => call.identifier.value).sort()).toEqual([unknownOkx, unmappedTelegram].sort());
    // Batches never wait on another container's lock.
    expect(h.cache.lockAttempts).toEqual([]);
  });

  it("names the malformed identifier by its index", async () => {
    const h = harness();
    const error = await h.service.resolveMany([tg(), okx(), "0123"], ample).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((issue) => issue.field)).toEqual(["body.identifiers.2"]);
    expect(h.cache.reads).toEqual([]);
  });
});

describe("stats", () => {
  it("counts lookups by tier, misses, negative hits and the hit rate", async () => {
    const { h, user } = seeded();
    const legacyOkx = okx();
    h.legacy.answers.set(legacyOkx, { telegramId: tg(), userId: randomUUID(), okxUid: legacyOkx });
    const unknown = okx();

    await h.service.resolve(user.okxUid, ample); // database
    await h.service.resolve(user.okxUid, ample); // cache
    await h.service.resolve(legacyOkx, ample); // legacy
    await h.service.resolve(tg(), ample); // direct
    await expect(h.service.resolve(unknown, ample)).rejects.toBeInstanceOf(NotFoundError); // not found
    await expect(h.service.resolve(unknown, ample)).rejects.toBeInstanceOf(NotFoundError); // negative hit

    const snapshot = h.stats.snapshot();
    expect(snapshot).toMatchObject({
      since: h.clock.now().toISOString(),
      lookups: 6,
      byTier: { cache: 1, database: 1, legacy: 1, direct: 1 },
      notFound: 2,
      negativeHits: 1,
    });
    expect(snapshot.hitRate).toBeCloseTo(2 / 6, 4);
  });

  it("mirrors counts to the metrics sink", () => {
    const counted: string[] = [];
    const stats = new LookupStats(new Date(), { count: (name) => void counted.push(name) });
    stats.resolved("legacy");
    stats.unknown(true);
    stats.cacheError();
    expect(counted).toEqual(["LookupTier_legacy", "LookupNotFound", "LookupNegativeHit", "LookupCacheDegraded"]);
    expect(stats.snapshot()).toMatchObject({ lookups: 2, hitRate: 0.5, cacheErrors: 1 });
  });
});
