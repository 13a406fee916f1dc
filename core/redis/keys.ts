/**
 * The one place that formats Redis key strings. Everything else asks this module for a key, so the
 * layout (and the per-stage / per-test prefix) can change without hunting string templates.
 */
import { exchangeSegment, legacySegment, sideSegment, symbolSegment, userSegment } from "./segments";
import type { PositionSide } from "./segments";

export class RedisKeys {
  constructor(readonly prefix: string = "") {}

  private key(...parts: readonly (string | number)[]): string {
    return this.prefix + parts.join(":");
  }

  /** Every key under this prefix (SCAN pattern), for cleaning up a bench or test run. */
  everythingPattern(): string {
    return `${this.prefix}*`;
  }

  /** Old registration layout (system B): exchange API keys hash. */
  legacyApiKeys(okxUid: string): string {
    return this.key("user", okxUid, "api", "keys");
  }

  /** SCAN pattern of the old plaintext API-key hashes (migrate-credentials). */
  legacyApiKeysPattern(): string {
    return this.key("user", "*", "api", "keys");
  }

  /** The okx_uid inside a key the api-keys pattern matched, or null. */
  okxUidOfLegacyApiKeys(key: string): string | null {
    if (!key.startsWith(this.prefix)) return null;
    return /^user:([^:]+):api:keys$/.exec(key.slice(this.prefix.length))?.[1] ?? null;
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

  // ---- credentials (migrate-credentials) ----

  /** Where an interrupted migrate-credentials --apply resumes: the SCAN cursor after the last page it finished. */
  credentialsMigrationCursor(): string {
    return this.key("credentials", "migrate", "cursor");
  }

  // ---- positions (positions, orders, legacy position forms, cache tags) ----
  // In a class of its own, PositionKeys (end of this file), so that bundles without positions leave
  // it out (every function bundles RedisKeys; the 400 KB budget is tight).

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

  /** Fleet-wide lookup counters of one minute (epoch minute): a hash with a field per container and counter. */
  lookupStatsMinute(minute: number): string {
    return this.key("stats", "lookups", "v1", minute);
  }
}

/** The legacy position and order layouts that `ops migrate-keys` moves into the standard. */
export const legacyKeyForms = ["position_symbol", "user_position", "position_exchange", "grid_array", "order_placed"] as const;
export type LegacyKeyForm = (typeof legacyKeyForms)[number];
export const orderKeySuffixes = ["orders", "order_placed", "order_placed_index"] as const;
export type OrderKeySuffix = (typeof orderKeySuffixes)[number];

/** A legacy key read back into its parts (segments unvalidated: the migration decides what moves). */
export type LegacyKey =
  | { readonly form: "position_symbol"; readonly user: string; readonly symbol: string }
  | { readonly form: "user_position"; readonly user: string; readonly symbol: string; readonly side: string }
  | { readonly form: "position_exchange"; readonly user: string; readonly exchange: string; readonly symbol: string; readonly side: string }
  | { readonly form: "grid_array"; readonly exchange: string; readonly user: string }
  | { readonly form: "order_placed"; readonly exchange: string; readonly user: string; readonly symbol: string; readonly suffix: OrderKeySuffix };

const LEGACY_PATTERNS: readonly { readonly regex: RegExp; readonly read: (m: readonly string[]) => LegacyKey }[] = [
  { regex: /^position:([^:]+):([^:]+)$/, read: (m) => ({ form: "position_symbol", user: m[1] ?? "", symbol: m[2] ?? "" }) },
  { regex: /^user:([^:]+):position:([^:]+):([^:]+)$/, read: (m) => ({ form: "user_position", user: m[1] ?? "", symbol: m[2] ?? "", side: m[3] ?? "" }) },
  {
    regex: /^position:([^:]+):([^:]+):([^:]+):([^:]+)$/,
    read: (m) => ({ form: "position_exchange", user: m[1] ?? "", exchange: m[2] ?? "", symbol: m[3] ?? "", side: m[4] ?? "" }),
  },
  { regex: /^([a-z0-9]+):positions:([^:]+)$/, read: (m) => ({ form: "grid_array", exchange: m[1] ?? "", user: m[2] ?? "" }) },
  {
    regex: /^([a-z0-9]+):user:([^:]+):symbol:([^:]+):(orders|order_placed|order_placed_index)$/,
    read: (m) => ({ form: "order_placed", exchange: m[1] ?? "", user: m[2] ?? "", symbol: m[3] ?? "", suffix: (m[4] ?? "orders") as OrderKeySuffix }),
  },
];

/**
 * Positions section of the key standard: positions, their index, orders, the legacy forms that
 * `ops migrate-keys` moves, its saved state. Every segment is validated (core/redis/segments.ts)
 * before a key is built: a user is an app user id, an exchange `[a-z0-9]+`, a symbol an upper-case
 * instrument id, a side long | short.
 */
export class PositionKeys {
  constructor(readonly prefix: string = "") {}

  // Every segment is validated (core/redis/segments.ts) before a key is built: a user is an app user
  // id, an exchange `[a-z0-9]+`, a symbol an upper-case instrument id, a side long | short.

  private key(...parts: readonly string[]): string {
    return this.prefix + parts.join(":");
  }

  /** One open position (hash of its snake_case fields). */
  position(user: string, exchange: string, symbol: string, side: PositionSide): string {
    return this.key("positions", userSegment(user), exchangeSegment(exchange), symbolSegment(symbol), sideSegment(side));
  }

  /** A user's open positions on one exchange: a set of `{symbol}:{side}` members (positionIndexMember). */
  positionIndex(user: string, exchange: string): string {
    return this.key("positions", "index", userSegment(user), exchangeSegment(exchange));
  }

  /** The exchanges a user has had positions on (set), so "all exchanges" needs no SCAN. */
  positionExchanges(user: string): string {
    return this.key("positions", "exchanges", userSegment(user));
  }

  /** Where the open position with this id lives (JSON of its user, exchange, symbol, side); gone when it closes. */
  positionById(id: string): string {
    return this.key("positions", "by-id", userSegment(id, "id"));
  }

  /**
   * Start of positionIndex(user, exchange) without the exchange, and of position(user, ...) without
   * exchange, symbol and side: the read script of a user's open positions appends the exchanges and
   * index members it finds (one round trip), so these two and positionIndexMember define its keys.
   */
  positionScriptPrefixes(user: string): { readonly index: string; readonly hash: string } {
    const id = userSegment(user);
    return { index: `${this.key("positions", "index", id)}:`, hash: `${this.key("positions", id)}:` };
  }

  /** A member of positionIndex. */
  positionIndexMember(symbol: string, side: PositionSide): string {
    return `${symbolSegment(symbol)}:${sideSegment(side)}`;
  }

  /** Inverse of positionIndexMember; null for a member that is not one (written by hand). */
  parsePositionIndexMember(member: string): { readonly symbol: string; readonly side: PositionSide } | null {
    const match = /^([A-Z0-9_/-]+):(long|short)$/.exec(member);
    return match ? { symbol: match[1] ?? "", side: (match[2] ?? "long") as PositionSide } : null;
  }

  /** SCAN pattern of every user's exchange set: one key per user who ever had a position (the positions sync walks these). */
  positionExchangesPattern(): string {
    return this.key("positions", "exchanges", "*");
  }

  /** Inverse of positionExchanges for a key the SCAN returned; null when it is not one. */
  userOfPositionExchangesKey(key: string): string | null {
    if (!key.startsWith(this.prefix)) return null;
    const match = /^positions:exchanges:([0-9a-f-]{36})$/.exec(key.slice(this.prefix.length));
    return match?.[1] ?? null;
  }

  /** SCAN pattern of every position index (the sync's walk over users with open positions). */
  positionIndexPattern(): string {
    return this.key("positions", "index", "*");
  }

  /** Inverse of positionIndex for a key the SCAN returned; null when it is not one. */
  parsePositionIndexKey(key: string): { readonly user: string; readonly exchange: string } | null {
    if (!key.startsWith(this.prefix)) return null;
    const match = /^positions:index:([^:]+):([a-z0-9]+)$/.exec(key.slice(this.prefix.length));
    return match ? { user: match[1] ?? "", exchange: match[2] ?? "" } : null;
  }

  /** A user's orders on one symbol: `orders` (sorted set by price), `order_placed` (hash), `order_placed_index` (set of order ids). */
  orders(exchange: string, user: string, symbol: string, suffix: OrderKeySuffix = "orders"): string {
    return this.key("orders", exchangeSegment(exchange), "user", userSegment(user), "symbol", symbolSegment(symbol), suffix);
  }

  /** Where `ops migrate-keys` saves its SCAN cursor and running counts (resumable). */
  migrateKeysState(): string {
    return this.key("positions", "migrate-keys", "v1");
  }

  /** Legacy (system C): `position:{user}:{symbol}`, side inside the value, exchange okx. */
  legacyPositionBySymbol(user: string, symbol: string): string {
    return this.key("position", legacySegment(user), legacySegment(symbol, "symbol"));
  }

  /** Legacy (system C): `user:{user}:position:{symbol}:{side}`. */
  legacyUserPosition(user: string, symbol: string, side: string): string {
    return this.key("user", legacySegment(user), "position", legacySegment(symbol, "symbol"), legacySegment(side, "side"));
  }

  /** Legacy (system C): `position:{user}:{exchange}:{symbol}:{side}` (a JSON string or a hash). */
  legacyExchangePosition(user: string, exchange: string, symbol: string, side: string): string {
    return this.key("position", legacySegment(user), exchangeSegment(exchange), legacySegment(symbol, "symbol"), legacySegment(side, "side"));
  }

  /** Legacy (GRID): `{exchange}:positions:{user}`, one JSON array of every position of the user. */
  legacyGridPositions(exchange: string, user: string): string {
    return this.key(exchangeSegment(exchange), "positions", legacySegment(user));
  }

  /** Legacy orders without the `orders:` prefix: `{exchange}:user:{user}:symbol:{symbol}:{suffix}`. */
  legacyOrders(exchange: string, user: string, symbol: string, suffix: OrderKeySuffix = "order_placed"): string {
    return this.key(exchangeSegment(exchange), "user", legacySegment(user), "symbol", legacySegment(symbol, "symbol"), suffix);
  }

  /** The SCAN pattern the migration walks (every key of this prefix; legacyKeyOf sorts them). */
  legacyScanPattern(): string {
    return `${this.prefix}*`;
  }

  /** Which legacy form `key` is, with its parts; null for any other key. */
  legacyKeyOf(key: string): LegacyKey | null {
    if (!key.startsWith(this.prefix)) return null;
    const bare = key.slice(this.prefix.length);
    for (const pattern of LEGACY_PATTERNS) {
      const match = pattern.regex.exec(bare);
      if (match) return pattern.read(match);
    }
    return null;
  }
}
