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
  // The fast copy lives in the keys legacy bots read: `user:{okx_uid}:preferences` (hash),
  // `user:{okx_uid}:settings` (JSON string, the params), `user:{okx_uid}:dual_side` (hash), named by
  // the user id when the user has no OKX UID. The companion hash `user:{base}:settings:meta` holds,
  // per type, the version, a hash of the content as written, and the normalised document.

  /** The legacy key of one settings type of one user (`base`: the OKX UID, or the user id without one). */
  settingsFastCopy(base: string, type: "preferences" | "params" | "dual_side"): string {
    return this.key("user", base, type === "params" ? "settings" : type);
  }

  /** Companion hash of a user's fast copies: one field per type (version, content hash, document). */
  settingsMeta(base: string): string {
    return this.key("user", base, "settings", "meta");
  }

  /** SCAN patterns of the legacy settings keys (the sync reads them); match with settingsKeyParts. */
  settingsFastCopyPatterns(): readonly string[] {
    return [this.key("user", "*", "preferences"), this.key("user", "*", "settings"), this.key("user", "*", "dual_side")];
  }

  /** Inverse of settingsFastCopy: the base and type of a legacy settings key, or null. */
  settingsKeyParts(key: string): { readonly base: string; readonly type: "preferences" | "params" | "dual_side" } | null {
    if (!key.startsWith(this.prefix)) return null;
    const match = /^user:([^:]+):(preferences|settings|dual_side)$/.exec(key.slice(this.prefix.length));
    if (!match?.[1] || !match[2]) return null;
    return { base: match[1], type: match[2] === "settings" ? "params" : (match[2] as "preferences" | "dual_side") };
  }

  // ---- positions (positions, orders, legacy position forms, cache tags) ----

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
