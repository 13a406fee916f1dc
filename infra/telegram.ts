import { lambda } from "./platform";
import type { Platform } from "./platform";

/**
 * The Telegram bot (issue #12): Telegram calls POST /telegram/webhook. The function links the bot's
 * secrets, Redis (update marks, rate limits), Postgres (users, registration, marks while Redis is
 * down) and the encryption key (registration stores encrypted exchange keys). Its timeout stays
 * above the handler's budget (TELEGRAM_HANDLER_BUDGET_MS, 8 s) and under the lease (30 s).
 * `splitting`: the bot serves many capabilities (settings, positions, registration, accounts) that
 * runtime/telegram.ts imports on the first command that needs one; split, they are a chunk of their
 * own, and a cold start loads only the bot, its ledger and rate limiter (the chunk ships alongside).
 */
export function telegramInfra({ api, secrets, redis, postgres }: Platform) {
  const environment: Record<string, string> = {};
  for (const name of ["TELEGRAM_BOT_USERNAME", "OKX_BASE_URL", "OKX_SIMULATED_TRADING", "TELEGRAM_RATE_LIMIT"]) {
    const value = process.env[name];
    if (value) environment[name] = value;
  }
  api.route(
    "POST /telegram/webhook",
    lambda("functions/telegram-webhook.handler", {
      link: [secrets.telegramBotToken, secrets.telegramWebhookSecret, secrets.encryptionKey, ...redis, ...postgres],
      memory: "512 MB",
      timeout: "10 seconds",
      environment,
      nodejs: { splitting: true },
    }),
  );
}
