import { errorMessage } from "../../errors";
import type { AdminChat, ChatSendResult } from "../ports";

export interface TelegramAdminChatOptions {
  /** e.g. https://api.telegram.org (the local cloud: its fake Bot API). */
  readonly apiRoot: string;
  readonly botToken: string | undefined;
  readonly chatId: string | undefined;
  readonly timeoutMs: number;
}

interface BotApiReply {
  readonly ok?: boolean;
  readonly error_code?: number;
  readonly description?: string;
  readonly parameters?: { readonly retry_after?: number };
}

/**
 * sendMessage to the admin chat (parse mode HTML; the text is escaped by render.ts). The bot token
 * is part of the URL, so no URL and no raw fetch error text ever leaves this class unredacted.
 */
export class TelegramAdminChat implements AdminChat {
  readonly configured: boolean;

  constructor(private readonly options: TelegramAdminChatOptions) {
    this.configured = Boolean(options.botToken && options.chatId);
  }

  async send(text: string): Promise<ChatSendResult> {
    const { apiRoot, botToken, chatId, timeoutMs } = this.options;
    if (!botToken || !chatId) return { kind: "failed", retryable: false, reason: "admin chat not configured" };
    let response: Response;
    try {
      response = await fetch(`${apiRoot.replace(/\/+$/, "")}/bot${botToken}/sendMessage`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ chat_id: chatId, text, parse_mode: "HTML", link_preview_options: { is_disabled: true } }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      return { kind: "failed", retryable: true, reason: this.redact(`Bot API unreachable: ${errorMessage(error)}`) };
    }
    const reply = (await response.json().catch(() => ({}))) as BotApiReply;
    if (response.ok && reply.ok !== false) return { kind: "sent" };
    if (response.status === 429) return { kind: "rate_limited", retryAfterSeconds: Math.max(1, Math.ceil(reply.parameters?.retry_after ?? 1)) };
    const reason = this.redact(`Bot API ${response.status}: ${reply.description ?? response.statusText}`);
    return { kind: "failed", retryable: response.status >= 500, reason };
  }

  private redact(text: string): string {
    const token = this.options.botToken;
    return token ? text.replaceAll(token, "[redacted]") : text;
  }
}
