import * as z from "zod/mini";
import { ConfigError } from "./errors";
import "./validation/zod-locale";
import { lazy } from "./validation/lazy";

const optionalString = /* @__PURE__ */ lazy(() => z.optional(z.pipe(z.string().check(z.trim()), z.transform((value) => (value === "" ? undefined : value)))));
const optionalUrl = /* @__PURE__ */ lazy(() => z.pipe(optionalString(), z.optional(z.url())));
const nonEmpty = (fallback: string) => z._default(z.string().check(z.minLength(1)), fallback);

export const positiveInt = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.positive()), fallback);
const nonNegativeInt = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.nonnegative()), fallback);

/**
 * What botstate reads from its environment, one schema per concern: a function validates (once per
 * cold start) only the parts whose clients it builds, so a handler that never talks to SQS does
 * not need the queue's settings and an ops command that only reads the database needs only that.
 * Each schema is built on its first use (configFor), not when this module loads, and is marked
 * pure so that a bundle that never reads it drops it (see core/validation/lazy.ts).
 */
export const platformConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  STAGE: nonEmpty("local"),
  LOG_LEVEL: z._default(z.enum(["DEBUG", "INFO", "WARN", "ERROR", "SILENT"]), "INFO"),
  SERVICE_NAME: nonEmpty("botstate"),
  AWS_REGION: nonEmpty("us-east-1"),
}));

export const redisConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  UPSTASH_REDIS_REST_URL: z.url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().check(z.minLength(1)),
  /** Prepended to every Redis key; lets several stages or test runs share one database. */
  REDIS_KEY_PREFIX: z._default(z.string(), ""),
  REDIS_RETRIES: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(10)), 2),
}));

export const postgresConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  DATABASE_URL: z.string().check(z.regex(/^postgres(ql)?:\/\//, "must be a postgres:// connection string")),
  /** Local cloud only: where the Neon HTTP driver sends queries instead of https://<host>/sql. */
  NEON_FETCH_ENDPOINT: optionalUrl(),
  /** Local cloud only: host:port/path of the WebSocket relay used by Pool/Client. */
  NEON_WS_PROXY: optionalString(),
  /** Server-side budget of each statement and lock wait of a write (Postgres cancels and rolls back). */
  DATABASE_STATEMENT_TIMEOUT_MS: positiveInt(2_000),
  /** Client-side bound of one database round trip (kept above the statement budget), below the function timeout. */
  DATABASE_REQUEST_TIMEOUT_MS: positiveInt(5_000),
}));

export const sqsConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  AWS_REGION: nonEmpty("us-east-1"),
  /** Local cloud only: the SQS emulator's endpoint. */
  SQS_ENDPOINT: optionalUrl(),
  PROVISIONING_QUEUE_URL: optionalUrl(),
  /** The provisioning DLQ; only the ops commands (redrive-dlq, provisioning-status) read it. */
  PROVISIONING_DLQ_URL: optionalUrl(),
}));

export const authConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  JWT_SECRET: z.string().check(z.minLength(32, "must be at least 32 characters")),
  JWT_ISSUER: nonEmpty("botstate"),
  /** Longest token lifetime (exp - iat) accepted per role; see core/auth/tokens.ts. */
  JWT_MAX_AGE_USER_SECONDS: positiveInt(24 * 3600),
  JWT_MAX_AGE_SERVICE_SECONDS: positiveInt(30 * 24 * 3600),
  JWT_MAX_AGE_ADMIN_SECONDS: positiveInt(12 * 3600),
}));

/** The per-role token lifetimes of an auth config. */
export function maxTokenAgeSeconds(config: AuthConfig): { user: number; service: number; admin: number } {
  return { user: config.JWT_MAX_AGE_USER_SECONDS, service: config.JWT_MAX_AGE_SERVICE_SECONDS, admin: config.JWT_MAX_AGE_ADMIN_SECONDS };
}

export const httpConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  HTTP_MAX_BODY_BYTES: positiveInt(256 * 1024),
}));

export const lookupConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** The legacy lookup service (system A's ORDER_BACKEND); unset disables that tier. */
  LEGACY_LOOKUP_URL: optionalUrl(),
  LEGACY_LOOKUP_TIMEOUT_MS: positiveInt(1_500),
  LOOKUP_CACHE_TTL_SECONDS: positiveInt(3_600),
  LOOKUP_NEGATIVE_TTL_SECONDS: positiveInt(30),
  /** Longest a lookup waits on Redis before answering from the database. */
  LOOKUP_CACHE_TIMEOUT_MS: positiveInt(100),
  /** How long an open cache breaker skips Redis before a trial call. */
  LOOKUP_CACHE_RESET_MS: positiveInt(2_000),
  /** How often a container re-reads the undelivered lookup invalidations (core/cache/pending-gate.ts). */
  LOOKUP_PENDING_CHECK_MS: positiveInt(1_000),
  /** Legacy calls in flight at once per container; more wait (within their own budget) for a free slot. */
  LEGACY_LOOKUP_MAX_IN_FLIGHT: positiveInt(8),
  /** A legacy reply body longer than this is aborted while it is read (a valid answer is under 200 bytes). */
  LEGACY_LOOKUP_MAX_BODY_BYTES: positiveInt(16 * 1024),
}));

/** Fleet-wide lookup figures in Redis (core/lookups/fleet-stats.ts). */
export const lookupStatsConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** A container writes its counts at most this often, in the background. */
  LOOKUP_STATS_FLUSH_INTERVAL_MS: positiveInt(1_000),
  /** Longest one write of the counts may take before it is left to the next one. */
  LOOKUP_STATS_FLUSH_TIMEOUT_MS: positiveInt(1_000),
}));

export const provisioningConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** How long an Idempotency-Key and its answer are kept (at least a day). */
  IDEMPOTENCY_TTL_HOURS: z._default(z.coerce.number().check(z.int(), z.minimum(24), z.maximum(24 * 30)), 24),
  /** How long a request owns its key while in progress; a crashed owner's key is taken over afterwards. */
  IDEMPOTENCY_LEASE_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(5), z.maximum(3_600)), 30),
  /** Longest a user creation waits for SQS before it falls back to the synchronous path. */
  PROVISIONING_SEND_TIMEOUT_MS: positiveInt(2_000),
  /** Receives before SQS parks a message in the DLQ; infra/provisioning.ts sets both from one constant. */
  PROVISIONING_MAX_RECEIVE_COUNT: positiveInt(5),
}));

export const systemModeConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** How often a container asks Redis for the mode's version (a flip is seen within this plus a round trip). */
  SYSTEM_MODE_CHECK_INTERVAL_MS: z._default(z.coerce.number().check(z.int(), z.minimum(50), z.maximum(5_000)), 1_000),
  /** Lifetime of the Redis copy; when it lapses one reader refills it from Postgres. */
  SYSTEM_MODE_REDIS_TTL_SECONDS: positiveInt(60),
}));

export const alertConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** Bot API root; the local cloud points it at its fake Bot API server. */
  TELEGRAM_API_ROOT: z._default(z.url(), "https://api.telegram.org"),
  /** Unset: alerts are recorded and marked skipped. */
  TELEGRAM_BOT_TOKEN: optionalString(),
  /** The admin chat (a numeric id, or @channelname); unset: alerts are recorded and marked skipped. */
  TELEGRAM_ADMIN_CHAT_ID: z.pipe(optionalString(), z.optional(z.string().check(z.regex(/^(-?[1-9][0-9]{0,19}|@[A-Za-z][A-Za-z0-9_]{4,31})$/, "must be a chat id or @channel")))),
  /** Identical events alert once per this window. */
  ALERT_DEDUP_SECONDS: positiveInt(60),
  ALERT_SEND_TIMEOUT_MS: positiveInt(3_000),
}));

/** User settings (core/settings): the Redis fast copy and its Postgres fallback. */
export const settingsConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** Longest a settings read or refresh waits on Redis before Postgres answers (or the outbox keeps the refresh). */
  SETTINGS_CACHE_TIMEOUT_MS: positiveInt(250),
  /** After repeated Redis failures, how long reads skip Redis before one trial call. */
  SETTINGS_BREAKER_RESET_MS: positiveInt(5_000),
  /** How long a container remembers a user's OKX UID (the name of its fast copy). */
  SETTINGS_OWNER_TTL_MS: positiveInt(60_000),
}));

export const outboxConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** Rows a drain claims per batch. */
  OUTBOX_DRAIN_BATCH: positiveInt(100),
}));

/** The scheduled Redis -> Postgres sync (core/sync); the schedule itself is in infra/sync.ts. */
export const syncConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** SCAN COUNT: keys examined per page (each page is one pipeline, one plan query, one write). */
  SYNC_PAGE_SIZE: positiveInt(500),
  /** Time kept free before the function's timeout, on top of the slowest page of the run. */
  SYNC_RESERVE_MS: positiveInt(5_000),
  /** A run's lock frees itself this long after its last cursor save (a run that died). */
  SYNC_LEASE_MS: positiveInt(120_000),
}));

const booleanFlag = /* @__PURE__ */ lazy(() => z.pipe(
  z._default(z.enum(["true", "false", "1", "0", ""]), "false"),
  z.transform((value) => value === "true" || value === "1"),
));

/** The exchange's REST API, called with a user's own keys (to verify them at registration). */
export const exchangeConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  OKX_BASE_URL: z._default(z.url(), "https://www.okx.com"),
  /** Upper bound of one OKX call. */
  OKX_TIMEOUT_MS: positiveInt(3_000),
  /** Demo-trading keys: sends `x-simulated-trading: 1`. */
  OKX_SIMULATED_TRADING: booleanFlag(),
}));

/** The Bot API as a client (the webhook, the ops commands, admin alerts). */
export const telegramApiConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  TELEGRAM_BOT_TOKEN: z.string().check(z.regex(/^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$/, "must be a Bot API token (<bot id>:<secret>)")),
  /** The local cloud points this at its fake Bot API. */
  TELEGRAM_API_ROOT: z.pipe(
    z._default(z.url(), "https://api.telegram.org"),
    z.transform((url: string) => url.replace(/\/+$/, "")),
  ),
}));

/** The webhook function: its secret, its bot's name, and how it bounds each update. */
export const telegramWebhookConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** Sent by Telegram in X-Telegram-Bot-Api-Secret-Token (set with `ops telegram set-webhook`). */
  TELEGRAM_WEBHOOK_SECRET: z.string().check(z.regex(/^[A-Za-z0-9_-]{16,256}$/, "must be 16-256 characters of A-Z, a-z, 0-9, _ and -")),
  /** The bot's username (without @): preset bot info (no getMe on a cold start), `/help@<name>`. */
  TELEGRAM_BOT_USERNAME: z._default(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_]{3,31}$/, "must be a Telegram username without @")), "botstate_bot"),
  /** Commands a chat may send per window. */
  TELEGRAM_RATE_LIMIT: positiveInt(20),
  TELEGRAM_RATE_WINDOW_SECONDS: positiveInt(60),
  /** How long a handled update stays marked (Telegram gives up redelivering after 24 h). */
  TELEGRAM_UPDATE_TTL_SECONDS: positiveInt(86_400),
  /** How long a container holds an update it is handling (longer than the function's timeout). */
  TELEGRAM_UPDATE_LEASE_SECONDS: positiveInt(30),
  /** Longest one update may take before the webhook answers 503 (under Telegram's and Lambda's timeouts). */
  TELEGRAM_HANDLER_BUDGET_MS: positiveInt(8_000),
  /** Longest a Redis call of the webhook may take before Postgres (marks) or no limit (rate) is used. */
  TELEGRAM_REDIS_TIMEOUT_MS: positiveInt(300),
}));

/** The shared read-through cache (core/cache) of every capability that caches views. */
export const cacheConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** Longest a cache call to Redis may take before the read goes to the source. */
  CACHE_STORE_TIMEOUT_MS: positiveInt(200),
  /** How long after its TTL an entry is still served (marked stale) when its source fails. */
  CACHE_STALE_IF_ERROR_SECONDS: positiveInt(60),
}));

/** Reconciliation and drawdown guard views (core/reconciliation, core/guards). */
export const guardConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  /** The peak equity is the highest within this many days. */
  GUARD_WINDOW_DAYS: positiveInt(30),
  /** Drawdown (%) from which the guard says `warning` (inclusive). */
  GUARD_WARNING_PCT: z._default(z.coerce.number().check(z.positive(), z.lt(100)), 10),
  /** Drawdown (%) above which the guard says `critical` (15 itself is still `warning`). */
  GUARD_CRITICAL_PCT: z._default(z.coerce.number().check(z.positive(), z.lt(100)), 15),
  /**
   * How long the reconciliation and guard views stay cached. Every write of the user invalidates
   * them at once (a bump Redis refused, within VIEWS_PENDING_CHECK_MS), and a guard view never
   * outlives its peak's place in the window, so this only bounds changes made behind botstate's back.
   */
  VIEWS_CACHE_TTL_MS: positiveInt(300_000),
  /**
   * How often a container re-reads the invalidations still owed (tag bumps for the views, mapping
   * changes for `{ref}`s; core/cache/pending-gate.ts): the staleness bound when Redis refused one.
   */
  VIEWS_PENDING_CHECK_MS: positiveInt(5_000),
  /**
   * How long a resolved `{ref}` (user id or OKX UID to an active user) stays in the shared cache for
   * these routes; every mapping change invalidates it at once, so this only bounds changes made
   * behind botstate's back.
   */
  USER_REF_CACHE_TTL_SECONDS: positiveInt(600),
  /** How long a container keeps a found `{ref}` in memory: how long it may still serve a user deactivated meanwhile (0: not kept). */
  USER_REF_MEMO_SECONDS: nonNegativeInt(30),
}));

/**
 * Exchange credentials' key ring: ENCRYPTION_KEY (the EncryptionKey secret, 32 bytes base64) seals
 * every new or rotated value; ENCRYPTION_PREVIOUS_KEYS (the EncryptionPreviousKeys secret,
 * comma-separated base64, empty or `none` for none) still open what they sealed until
 * rotate-credentials re-seals it. core/credentials/key-ring.ts decodes them and names a bad one.
 */
export const credentialsConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  ENCRYPTION_KEY: z.string().check(z.minLength(1)),
  ENCRYPTION_PREVIOUS_KEYS: z._default(z.string(), ""),
}));

export type PlatformConfig = z.infer<ReturnType<typeof platformConfigSchema>>;
export type RedisConfig = z.infer<ReturnType<typeof redisConfigSchema>>;
export type PostgresConfig = z.infer<ReturnType<typeof postgresConfigSchema>>;
export type SqsConfig = z.infer<ReturnType<typeof sqsConfigSchema>>;
export type AuthConfig = z.infer<ReturnType<typeof authConfigSchema>>;
export type HttpConfig = z.infer<ReturnType<typeof httpConfigSchema>>;
export type LookupConfig = z.infer<ReturnType<typeof lookupConfigSchema>>;
export type ProvisioningConfig = z.infer<ReturnType<typeof provisioningConfigSchema>>;
export type SystemModeConfig = z.infer<ReturnType<typeof systemModeConfigSchema>>;
export type AlertConfig = z.infer<ReturnType<typeof alertConfigSchema>>;
export type SyncConfig = z.infer<ReturnType<typeof syncConfigSchema>>;
export type OutboxConfig = z.infer<ReturnType<typeof outboxConfigSchema>>;
export type SettingsConfig = z.infer<ReturnType<typeof settingsConfigSchema>>;
export type ExchangeConfig = z.infer<ReturnType<typeof exchangeConfigSchema>>;
export type TelegramApiConfig = z.infer<ReturnType<typeof telegramApiConfigSchema>>;
export type TelegramWebhookConfig = z.infer<ReturnType<typeof telegramWebhookConfigSchema>>;
export type CacheConfig = z.infer<ReturnType<typeof cacheConfigSchema>>;
export type GuardConfig = z.infer<ReturnType<typeof guardConfigSchema>>;
export type CredentialsConfig = z.infer<ReturnType<typeof credentialsConfigSchema>>;
export type ConfigSource = Readonly<Record<string, string | undefined>>;

/** Validates one schema's names at once, so one cold start names every bad value; values never echoed. */
export function parseConfig<Schema extends z.core.$ZodType>(schema: Schema, source: ConfigSource): z.output<Schema> {
  const result = z.safeParse(schema, source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(root)";
    const value = source[name];
    return value === undefined || value === "" ? `${name} is missing` : `${name} ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
}
