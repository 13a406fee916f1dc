import { AsyncLocalStorage } from "node:async_hooks";
import type { Redis } from "@upstash/redis";
import { Api } from "grammy/web";
import type { Bot } from "grammy/web";
import { telegramApiConfigSchema, telegramWebhookConfigSchema } from "../core/config";
import type { Database } from "../core/db/database";
import { PostgresUpdateMarks } from "../core/telegram/adapters/postgres-update-marks";
import { UpstashChatRateLimiter } from "../core/telegram/adapters/upstash-chat-rate-limiter";
import { UpstashUpdateMarks } from "../core/telegram/adapters/upstash-update-marks";
import type { BotServices, ChatRateLimiter, UpdateLedger } from "../core/telegram/ports";
import { FailoverUpdateLedger } from "../core/telegram/update-ledger";
import { database } from "./clients/postgres";
import { redisClient, redisKeys } from "./clients/redis";
import { configFor, once } from "./config";
import { lazyService } from "./lazy-service";
import { platform } from "./platform";
import { createTelegramBot } from "./telegram/bot";
import { createWebhookHandler } from "./telegram/webhook";
import type { WebhookHandler } from "./telegram/webhook";

export interface TelegramModule {
  readonly webhook: WebhookHandler;
  readonly bot: Bot;
  readonly ledger: UpdateLedger;
  readonly rateLimiter: ChatRateLimiter;
  readonly services: BotServices;
}

/** Parts a test may swap (a dead Redis or Postgres, a use case of its own); the rest is wired as in Lambda. */
export interface TelegramWiringOptions {
  readonly redis?: Redis;
  readonly database?: Database;
  readonly services?: Partial<BotServices>;
}

/** The module of every capability the bot serves: one chunk of the split bundle (infra/telegram.ts). */
const capabilities = () => import("./telegram/capabilities");

/**
 * The use cases the commands call: the same ones, wired the same way, as the HTTP API's. They are
 * imported on the first call of any of them, so a cold start loads the bot, its ledger and rate
 * limiter only, and /help or a rate-limit reply never loads them.
 */
function botServices(db: Database, overrides: Partial<BotServices>): BotServices {
  return {
    accounts: lazyService(async () => (await capabilities()).botAccounts(db), { findByTelegramId: true }),
    exchange: lazyService(async () => (await capabilities()).exchangeAccounts(), { verify: true }),
    registration: lazyService(async () => (await capabilities()).registrationForBot(), { register: true }),
    settings: lazyService(async () => (await capabilities()).settingsForBot(), { get: true, set: true }),
    positions: lazyService(async () => (await capabilities()).positionsForBot(), { listOpen: true, status: true }),
    ...overrides,
  };
}

/** The Bot API as a plain client (ops commands, alerts): no bot, no webhook config. */
export function telegramApi(): Api {
  return once(Api, () => {
    const config = configFor(telegramApiConfigSchema);
    return new Api(config.TELEGRAM_BOT_TOKEN, { apiRoot: config.TELEGRAM_API_ROOT });
  });
}

/** The bot of this container: built on the first update, with its bot info preset (no getMe). */
export function telegram(): TelegramModule {
  return once(buildTelegram, () => buildTelegram());
}

export function buildTelegram(options: TelegramWiringOptions = {}): TelegramModule {
  const api = configFor(telegramApiConfigSchema);
  const config = configFor(telegramWebhookConfigSchema);
  const { logger, clock, ids } = platform();
  const redis = options.redis ?? redisClient();
  const db = options.database ?? database();
  const ledger = new FailoverUpdateLedger({
    fast: new UpstashUpdateMarks(redis, redisKeys()),
    durable: new PostgresUpdateMarks(db),
    ids,
    log: logger,
    options: { leaseMs: config.TELEGRAM_UPDATE_LEASE_SECONDS * 1000, ttlSeconds: config.TELEGRAM_UPDATE_TTL_SECONDS, fastTimeoutMs: config.TELEGRAM_REDIS_TIMEOUT_MS },
  });
  const rateLimiter = new UpstashChatRateLimiter(redis, redisKeys(), clock, logger, {
    limit: config.TELEGRAM_RATE_LIMIT,
    windowSeconds: config.TELEGRAM_RATE_WINDOW_SECONDS,
    timeoutMs: config.TELEGRAM_REDIS_TIMEOUT_MS,
  });
  const services = botServices(db, options.services ?? {});
  const deadlines = new AsyncLocalStorage<number>();
  const remainingMs = () => (deadlines.getStore() ?? Date.now() + config.TELEGRAM_HANDLER_BUDGET_MS) - Date.now();
  const bot = createTelegramBot(
    { commands: { services, log: logger, remainingMs }, ledger, rateLimiter, log: logger },
    { token: api.TELEGRAM_BOT_TOKEN, apiRoot: api.TELEGRAM_API_ROOT, username: config.TELEGRAM_BOT_USERNAME },
  );
  const webhook = createWebhookHandler({ bot, secret: config.TELEGRAM_WEBHOOK_SECRET, budgetMs: config.TELEGRAM_HANDLER_BUDGET_MS, log: logger, deadlines });
  return { webhook, bot, ledger, rateLimiter, services };
}
