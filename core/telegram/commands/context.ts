import type { LogPort } from "../../observability/log-port";
import { paginate } from "../html";
import { catalogue } from "../messages";
import type { Catalogue } from "../messages";
import type { BotAccount, CommandInput } from "../model";
import type { BotServices, ChatReplies } from "../ports";

export interface CommandDeps {
  readonly services: BotServices;
  readonly log: LogPort;
  /** Milliseconds left for this update (the webhook's budget); calls out derive their deadline from it. */
  readonly remainingMs: () => number;
  /** Page size in characters (Telegram's limit; smaller in tests). */
  readonly pageLimit?: number;
}

export const textOf = (input: Pick<CommandInput, "locale">): Catalogue => catalogue(input.locale);

/** The sender's account, or a reply saying how to register (and null). */
export async function requireAccount(deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<BotAccount | null> {
  const account = await deps.services.accounts.findByTelegramId(input.telegramId);
  if (!account) await chat.send({ html: textOf(input).notRegistered });
  return account;
}

/** Lines sent as one message, or as several when they exceed a page. */
export async function sendLines(deps: CommandDeps, chat: ChatReplies, lines: readonly string[]): Promise<void> {
  for (const page of paginate(lines, deps.pageLimit)) await chat.send({ html: page });
}
