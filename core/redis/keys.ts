/**
 * The one place that formats Redis key strings. Everything else asks this module for a key, so the
 * layout (and the per-stage / per-test prefix) can change without hunting string templates.
 */
export class RedisKeys {
  constructor(private readonly prefix: string = "") {}

  private key(...parts: readonly (string | number)[]): string {
    return this.prefix + parts.join(":");
  }

  /** Every key under this prefix (SCAN pattern), for cleaning up a bench or test run. */
  everythingPattern(): string {
    return `${this.prefix}*`;
  }

  /** Cached answer of an identifier lookup (positive or negative); kind is user_id / okx_uid / telegram_id. */
  lookup(kind: string, value: string): string {
    return this.key("lookup", "v1", kind, value);
  }

  /** Short lock held by the container filling the cache for one identifier. */
  lookupFillLock(kind: string, value: string): string {
    return this.key("lookup", "v1", "fill", kind, value);
  }

  /** Old registration layout (system B): exchange API keys hash. */
  legacyApiKeys(okxUid: string): string {
    return this.key("user", okxUid, "api", "keys");
  }

  /** Old registration layout (system B): preferences hash. */
  legacyPreferences(okxUid: string): string {
    return this.key("user", okxUid, "preferences");
  }

  /** SCAN patterns matching the old registration hashes that may carry a telegram_id. */
  legacyRegistrationPatterns(): readonly string[] {
    return [this.key("user", "*", "api", "keys"), this.key("user", "*", "preferences")];
  }

  /** Inverse of the legacy patterns: the okx_uid inside a key they matched, or null. */
  okxUidOfLegacyKey(key: string): string | null {
    if (!key.startsWith(this.prefix)) return null;
    const match = /^user:([^:]+):(?:api:keys|preferences)$/.exec(key.slice(this.prefix.length));
    return match?.[1] ?? null;
  }

  // ---- settings (user settings fast copy, sync cursors) ----

  // ---- positions (positions, orders, legacy position forms, cache tags) ----

  // ---- cache (core/cache: read-through entries, fill locks, tag versions) ----

  /** One entry of a read-through cache (`<freshUntilMs>|<tag stamp>|<payload>`). */
  cacheEntry(cache: string, key: string): string {
    return this.key("cache", "v1", cache, key);
  }

  /** Short lock held by the container filling one cache entry. */
  cacheFillLock(cache: string, key: string): string {
    return this.key("cache", "v1", "fill", cache, key);
  }

  /** Version counter of one tag (INCR on every write it covers); part of every entry's stamp. */
  cacheTag(tag: string): string {
    return this.key("cache", "v1", "tag", tag);
  }

  // ---- provisioning (system mode, alert dedup) ----

  /** The system mode as `<version>:<mode>`, a copy of system_config that every container polls. */
  systemMode(): string {
    return this.key("provisioning", "mode", "v1");
  }

  // ---- telegram (update dedup, rate limits) ----

  /** Mark of one webhook update: `p:<claim token>` while handled (with a lease), `done` after (with a TTL). */
  telegramUpdate(updateId: number): string {
    return this.key("telegram", "update", updateId);
  }

  /** Prefix of @upstash/ratelimit's per-chat windows (the library appends the chat id and window). */
  telegramRateLimitPrefix(): string {
    return this.key("telegram", "ratelimit");
  }

  /** Set while a chat over its limit has been told so once in the current window. */
  telegramRateNotice(chatId: string): string {
    return this.key("telegram", "ratelimit-notice", chatId);
  }

  // ---- trust (invalidation outbox, fleet stats) ----
}
