import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { silentLog } from "../../../core/observability/log-port";
import type { LogPort } from "../../../core/observability/log-port";
import type { BotServices } from "../../../core/telegram/ports";
import { FailoverUpdateLedger } from "../../../core/telegram/update-ledger";
import { generateBotToken, startFakeTelegramApi } from "../../../local/fake-telegram-api";
import type { FakeTelegramApi, RecordedCall } from "../../../local/fake-telegram-api";
import { createTelegramBot } from "../../../runtime/telegram/bot";
import { createWebhookHandler } from "../../../runtime/telegram/webhook";
import type { WebhookHandler } from "../../../runtime/telegram/webhook";
import { MemoryRateLimiter, MemoryUpdateMarks, memoryServices } from "./memory";
import type { MemoryServices } from "./memory";
import { lambdaContext, webhookEvent } from "./updates";

export const TEST_SECRET = "test-webhook-secret-0123456789";

/** The bot (grammY, the real middlewares and commands) with in-memory stores and the fake Bot API. */
export interface BotHarness {
  readonly telegram: FakeTelegramApi;
  readonly services: MemoryServices;
  readonly fast: MemoryUpdateMarks;
  readonly durable: MemoryUpdateMarks;
  readonly rateLimiter: MemoryRateLimiter;
  readonly handler: WebhookHandler;
  readonly logs: { level: string; message: string; attributes: Record<string, unknown> }[];
  /** Sends an update as Telegram would; returns the status and the Bot API calls made in answer. */
  deliver(update: unknown, options?: { secret?: string | undefined; remainingMs?: number }): Promise<{ status: number; calls: RecordedCall[]; response: APIGatewayProxyStructuredResultV2 }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly pageLimit?: number;
  readonly budgetMs?: number;
  /** Replaces services the commands see (e.g. null: a use case that has not landed). */
  readonly services?: Partial<BotServices>;
}

function recordingLog(logs: BotHarness["logs"]): LogPort {
  const at = (level: string) => (message: string, ...attributes: Record<string, unknown>[]) => void logs.push({ level, message, attributes: Object.assign({}, ...attributes) });
  return { ...silentLog, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export async function startBotHarness(options: HarnessOptions = {}): Promise<BotHarness> {
  const token = generateBotToken();
  const telegram = await startFakeTelegramApi({ token });
  const services = memoryServices();
  const fast = new MemoryUpdateMarks("redis");
  const durable = new MemoryUpdateMarks("postgres");
  const rateLimiter = new MemoryRateLimiter();
  const logs: BotHarness["logs"] = [];
  const log = recordingLog(logs);
  const ledger = new FailoverUpdateLedger({ fast, durable, ids: { uuid: randomUUID }, log, options: { leaseMs: 30_000, ttlSeconds: 3_600, fastTimeoutMs: 200 } });
  const deadlines = new AsyncLocalStorage<number>();
  const budgetMs = options.budgetMs ?? 5_000;
  const bot = createTelegramBot(
    { commands: { services: { ...services, ...options.services }, log, remainingMs: () => (deadlines.getStore() ?? Date.now() + budgetMs) - Date.now(), ...(options.pageLimit ? { pageLimit: options.pageLimit } : {}) }, ledger, rateLimiter, log },
    { token, apiRoot: telegram.root, username: "botstate_bot", maxRetryAfterSeconds: 1 },
  );
  const handler = createWebhookHandler({ bot, secret: TEST_SECRET, budgetMs, log, deadlines });
  return {
    telegram,
    services,
    fast,
    durable,
    rateLimiter,
    handler,
    logs,
    deliver: async (update, deliverOptions = {}) => {
      const before = telegram.calls().length;
      const secret = "secret" in deliverOptions ? deliverOptions.secret : TEST_SECRET;
      const response = await handler(webhookEvent(update, secret), lambdaContext(deliverOptions.remainingMs ?? 10_000));
      return { status: response.statusCode ?? 0, calls: telegram.calls().slice(before), response };
    },
    close: () => telegram.close(),
  };
}

/** The texts of the sendMessage calls, in order. */
export const sentTexts = (calls: readonly RecordedCall[]) => calls.filter((call) => call.method === "sendMessage").map((call) => String(call.params.text));
