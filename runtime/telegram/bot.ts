import { Bot, Composer } from "grammy/web";
import type { Context, MiddlewareFn, Transformer } from "grammy/web";
import type { UserFromGetMe } from "grammy/types";
import { UnavailableError, errorCodeOf, errorMessage } from "../../core/errors";
import type { LogPort } from "../../core/observability/log-port";
import { sleep } from "../../core/resilience/timeout";
import type { CommandDeps } from "../../core/telegram/commands/context";
import { POSITIONS_PAGE, turnPositionsPage } from "../../core/telegram/commands/positions";
import { answerChatter, runCommand } from "../../core/telegram/dispatch";
import { catalogue } from "../../core/telegram/messages";
import { localeOf } from "../../core/telegram/model";
import type { ChatKind, CommandInput } from "../../core/telegram/model";
import type { ChatRateLimiter, UpdateLedger } from "../../core/telegram/ports";
import { telegramDispositionOf } from "./error-mapping";
import { chatRepliesOf, translateBotApiError } from "./chat-replies";

export interface TelegramBotDeps {
  readonly commands: CommandDeps;
  readonly ledger: UpdateLedger;
  readonly rateLimiter: ChatRateLimiter;
  readonly log: LogPort;
}

export interface TelegramBotOptions {
  readonly token: string;
  readonly apiRoot: string;
  readonly username: string;
  /** Longest one Bot API call may take. */
  readonly apiTimeoutSeconds?: number;
  /** A 429 with a longer retry_after fails the update (Telegram redelivers it) instead of waiting. */
  readonly maxRetryAfterSeconds?: number;
}

/** What getMe would say, from the token and the configured username: no getMe on a cold start. */
export function presetBotInfo(token: string, username: string): UserFromGetMe {
  return {
    id: Number(token.split(":")[0]),
    is_bot: true,
    first_name: "botstate",
    username,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    has_topics_enabled: false,
    allows_users_to_create_topics: false,
    can_manage_bots: false,
    supports_join_request_queries: false,
  };
}

/**
 * A 429 whose retry_after fits the budget is waited out and the call made once more; anything else
 * (a longer wait, 5xx, network) fails the update, which Telegram redelivers. Not
 * @grammyjs/auto-retry: it requires grammY's Node build, whose node-fetch dependency alone would
 * take the function over its bundle budget (the bot uses grammY's web build on Node's own fetch).
 */
function waitOutShortThrottling(maxSeconds: number): Transformer {
  return async (call, method, payload, signal) => {
    const result = await call(method, payload, signal);
    const wait = result.ok ? undefined : result.parameters?.retry_after;
    if (wait === undefined || wait > maxSeconds) return result;
    await sleep(wait * 1000);
    return call(method, payload, signal);
  };
}

/**
 * The bot: each update claimed once (ledger), then the chat's rate limit, then an error boundary
 * applying the Telegram error mapping, then the routes to the commands (core/telegram).
 */
export function createTelegramBot(deps: TelegramBotDeps, options: TelegramBotOptions): Bot {
  const bot = new Bot(options.token, {
    botInfo: presetBotInfo(options.token, options.username),
    client: { apiRoot: options.apiRoot, timeoutSeconds: options.apiTimeoutSeconds ?? 5 },
  });
  bot.api.config.use(waitOutShortThrottling(options.maxRetryAfterSeconds ?? 2));
  bot.use(handledOnce(deps));
  bot.use(rateLimited(deps, options.username));
  bot.use(errorBoundary(deps));
  bot.use(routes(deps, options.username));
  return bot;
}

function handledOnce(deps: TelegramBotDeps): MiddlewareFn<Context> {
  return async (ctx, next) => {
    const updateId = ctx.update.update_id;
    const claim = await deps.ledger.claim(updateId);
    if (claim.kind === "done") return deps.log.info("telegram: duplicate update ignored", { updateId });
    if (claim.kind === "busy") throw new UnavailableError("update is being handled by another container", { retryAfterSeconds: 2 });
    try {
      await next();
    } catch (error) {
      if (telegramDispositionOf(error).kind === "retry") {
        await deps.ledger.release(claim.claim);
        throw error;
      }
      deps.log.error("telegram: update failed, acknowledged", { updateId, code: errorCodeOf(error), reason: errorMessage(error) });
    }
    await deps.ledger.complete(claim.claim);
  };
}

/** Updates the bot may answer: those count against the chat's limit. */
function answerable(ctx: Context): boolean {
  if (ctx.callbackQuery) return true;
  const text = ctx.message?.text ?? ctx.editedMessage?.text;
  if (text === undefined || !ctx.chat) return false;
  return ctx.chat.type === "private" || text.startsWith("/");
}

/** Over the limit, a message carrying keys is still deleted: the limit silences the bot, not the rule. */
function rateLimited(deps: TelegramBotDeps, username: string): MiddlewareFn<Context> {
  return async (ctx, next) => {
    if (!ctx.chat || !answerable(ctx)) return next();
    const decision = await deps.rateLimiter.check(String(ctx.chat.id));
    if (decision.allowed) return next();
    deps.log.info("telegram: chat over its rate limit", { chatId: ctx.chat.id, notified: decision.notify });
    const message = ctx.message ?? ctx.editedMessage;
    if (message?.text !== undefined && parseCommand(message.text, username)?.command === "setapi") {
      await chatRepliesOf(ctx, deps.log).deleteMessage(message.message_id);
    }
    if (!decision.notify) return;
    const text = catalogue(localeOf(ctx.from?.language_code)).rateLimited(decision.retryAfterSeconds);
    await chatRepliesOf(ctx, deps.log).send({ html: text });
  };
}

/** The Telegram error mapping: reply in the chat, retry (rethrow), or acknowledge (log). */
function errorBoundary(deps: TelegramBotDeps): MiddlewareFn<Context> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (raw) {
      const error = translateBotApiError(raw);
      const disposition = telegramDispositionOf(error);
      // Retries and acknowledgements are the ledger's business (release or complete).
      if (disposition.kind !== "reply") throw error;
      deps.log.info("telegram: command refused", { updateId: ctx.update.update_id, code: disposition.code, reason: disposition.message });
      const text = catalogue(localeOf(ctx.from?.language_code)).errorReply(disposition.code, disposition.message);
      await chatRepliesOf(ctx, deps.log).send({ html: text });
    }
  };
}

const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+([\s\S]*))?$/;

/** `/set@botstate_bot a b` as a command input, or null when it is not a command for this bot. */
export function parseCommand(text: string, username: string): { command: string; args: string } | null {
  const match = COMMAND.exec(text.trim());
  if (!match?.[1]) return null;
  if (match[2] !== undefined && match[2].toLowerCase() !== username.toLowerCase()) return null;
  return { command: match[1].toLowerCase(), args: (match[3] ?? "").trim() };
}

type Sender = NonNullable<Context["from"]>;
type Chat = NonNullable<Context["chat"]>;

function commandInput(chat: Chat, from: Sender, message: Pick<CommandInput, "messageId" | "command" | "args" | "edited">): CommandInput {
  return {
    chatId: String(chat.id),
    chatKind: chat.type as ChatKind,
    telegramId: String(from.id),
    firstName: from.first_name,
    locale: localeOf(from.language_code),
    ...message,
  };
}

function routes(deps: TelegramBotDeps, username: string): Composer<Context> {
  const router = new Composer<Context>();
  router.on(["message:text", "edited_message:text"], async (ctx) => {
    if (!ctx.from || ctx.from.is_bot) return;
    const parsed = parseCommand(ctx.msg.text, username);
    const chat = chatRepliesOf(ctx, deps.log);
    if (!parsed) {
      if (ctx.chat.type === "private" && !ctx.editedMessage) await answerChatter(deps.commands, { locale: localeOf(ctx.from.language_code) }, chat);
      return;
    }
    const input = commandInput(ctx.chat, ctx.from, { messageId: ctx.msg.message_id, ...parsed, edited: ctx.editedMessage !== undefined });
    await runCommand(deps.commands, input, chat);
  });
  router.on("callback_query:data", async (ctx) => {
    const page = POSITIONS_PAGE.exec(ctx.callbackQuery.data)?.[1];
    const message = ctx.callbackQuery.message;
    if (page !== undefined && message && ctx.chat) {
      const input = commandInput(ctx.chat, ctx.from, { messageId: message.message_id, command: "positions", args: "", edited: false });
      await turnPositionsPage(deps.commands, input, chatRepliesOf(ctx, deps.log), Number(page));
    }
    await ctx.answerCallbackQuery().catch((error: unknown) => {
      throw translateBotApiError(error);
    });
  });
  // Stickers, photos, channel posts, reactions, members joining...: acknowledged, nothing to answer.
  router.use((ctx) => deps.log.debug("telegram: update of a kind the bot does not answer", { updateId: ctx.update.update_id, kinds: Object.keys(ctx.update).filter((key) => key !== "update_id") }));
  return router;
}
