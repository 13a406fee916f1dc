import { GrammyError, HttpError, InlineKeyboard } from "grammy/web";
import type { Context } from "grammy/web";
import { UnavailableError } from "../../core/errors";
import type { LogPort } from "../../core/observability/log-port";
import type { ChatReplies, OutgoingMessage } from "../../core/telegram/ports";

/**
 * A Bot API failure in the terms of core/errors.ts: Telegram throttling us (429), its own trouble
 * (5xx) and network failures are transient (UnavailableError: the update is retried); anything
 * else (blocked by the user, a bad request) will fail again, so it stays a plain error that the
 * webhook logs and acknowledges.
 */
export function translateBotApiError(error: unknown): unknown {
  if (error instanceof HttpError) return new UnavailableError(`Bot API unreachable: ${error.message}`, { cause: error });
  if (error instanceof GrammyError && (error.error_code === 429 || error.error_code >= 500)) {
    const retryAfter = error.parameters.retry_after;
    return new UnavailableError(`Bot API ${error.method} answered ${error.error_code}`, { cause: error, ...(retryAfter ? { retryAfterSeconds: retryAfter } : {}) });
  }
  return error;
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateBotApiError(error);
  }
}

function options(message: OutgoingMessage) {
  const keyboard = message.buttons ? InlineKeyboard.from(message.buttons.map((row) => row.map((button) => InlineKeyboard.text(button.text, button.data)))) : undefined;
  return { parse_mode: "HTML" as const, link_preview_options: { is_disabled: true }, ...(keyboard ? { reply_markup: keyboard } : {}) };
}

/** The chat of a grammY context, as the commands see it. */
export function chatRepliesOf(ctx: Context, log: LogPort): ChatReplies {
  const chatId = ctx.chat?.id;
  return {
    send: async (message) => {
      if (chatId === undefined) return;
      await call(() => ctx.api.sendMessage(chatId, message.html, options(message)));
    },
    edit: async (message) => {
      try {
        await call(() => ctx.editMessageText(message.html, options(message)));
      } catch (error) {
        // Pressing the button of the page already shown changes nothing: not a failure.
        if (!(error instanceof GrammyError && error.description.includes("message is not modified"))) throw error;
      }
    },
    deleteMessage: async (messageId) => {
      if (chatId === undefined) return;
      try {
        await call(() => ctx.api.deleteMessage(chatId, messageId));
      } catch (error) {
        if (error instanceof UnavailableError) throw error;
        // Already gone (a redelivery), or not ours to delete (a group where the bot is no admin):
        // retrying cannot help; the reply tells the user what to do.
        log.warn("telegram: message not deleted", { chatId, messageId, reason: error instanceof Error ? error.message : String(error) });
      }
    },
  };
}
