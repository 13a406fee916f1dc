import type { CommandInput } from "./model";
import type { ChatReplies } from "./ports";
import type { CommandDeps } from "./commands/context";
import { textOf } from "./commands/context";
import { showPositions, showStatus } from "./commands/positions";
import { setApi } from "./commands/setapi";
import { setSetting, showSettings } from "./commands/settings";
import { help, start } from "./commands/start";

type Command = (deps: CommandDeps, input: CommandInput, chat: ChatReplies) => Promise<void>;

export const COMMANDS: Readonly<Record<string, Command>> = {
  start,
  help,
  setapi: setApi,
  settings: showSettings,
  set: setSetting,
  positions: showPositions,
  status: showStatus,
};

/** The commands Telegram clients list (setMyCommands), in the order /help shows them. */
export const COMMAND_NAMES = Object.keys(COMMANDS);

/**
 * Runs one command message. /setapi always runs (it deletes the message carrying keys, wherever
 * it was sent); other commands in edited messages are not run again. In groups only /help is
 * answered; the other known commands are refused and unknown ones left alone (they may be another
 * bot's). In a private chat an unknown command gets a hint.
 */
export async function runCommand(deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<void> {
  const command = COMMANDS[input.command];
  if (input.command === "setapi") return setApi(deps, input, chat);
  if (input.edited) return;
  const text = textOf(input);
  if (input.chatKind !== "private") {
    if (input.command === "help") return help(deps, input, chat);
    if (command) await chat.send({ html: text.privateOnly });
    return;
  }
  if (!command) return chat.send({ html: text.unknownCommand(`/${input.command}`) });
  await command(deps, input, chat);
}

/** A private message that is not a command. */
export async function answerChatter(_deps: CommandDeps, input: Pick<CommandInput, "locale">, chat: ChatReplies): Promise<void> {
  await chat.send({ html: textOf(input).notACommand });
}
