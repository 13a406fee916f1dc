import type { CommandInput } from "../model";
import type { ChatReplies } from "../ports";
import { textOf } from "./context";
import type { CommandDeps } from "./context";

/** /start: a greeting; a known user sees their account, an unknown one how to register. */
export async function start(deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<void> {
  const account = await deps.services.accounts.findByTelegramId(input.telegramId);
  const text = textOf(input);
  await chat.send({ html: account ? text.greetingKnown(input.firstName, account.okxUid) : text.greetingUnknown(input.firstName) });
}

/** /help: the commands; in a group it also says that only /help is answered there. */
export async function help(_deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<void> {
  await chat.send({ html: textOf(input).help(input.chatKind !== "private") });
}
