import { UnprocessableError, ValidationError } from "../../errors";
import type { CommandInput, SettingsType, SettingsView } from "../model";
import { settingsTypes } from "../model";
import type { ChatReplies } from "../ports";
import { escapeHtml } from "../html";
import { requireAccount, sendLines, textOf } from "./context";
import type { CommandDeps } from "./context";

function settingsLines(input: CommandInput, view: SettingsView): string[] {
  const text = textOf(input);
  const lines = [text.settingsTitle];
  for (const type of settingsTypes) {
    lines.push("", text.settingsType(type));
    const entries = Object.entries(view[type]?.values ?? {});
    if (entries.length === 0) lines.push(text.settingsEmpty);
    for (const [key, value] of entries) lines.push(`<code>${escapeHtml(key)}</code> ${escapeHtml(typeof value === "string" ? value : JSON.stringify(value))}`);
  }
  return lines;
}

/** /settings: the three settings types, one key a line. */
export async function showSettings(deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<void> {
  if (!deps.services.settings) return chat.send({ html: textOf(input).unavailable });
  const account = await requireAccount(deps, input, chat);
  if (!account) return;
  await sendLines(deps, chat, settingsLines(input, await deps.services.settings.get(account.userId)));
}

/**
 * A value as typed in a chat: JSON when it reads as JSON (`10`, `2.5`, `true`, `null`, `"quoted"`),
 * the text itself otherwise (`BTC-USDT-SWAP`, `롱숏`). The settings validation decides the rest.
 */
export function chatValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

const isSettingsType = (value: string): value is SettingsType => (settingsTypes as readonly string[]).includes(value);

/** /set <type> <key> <value>: one key through the same validation as the API. */
export async function setSetting(deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<void> {
  const text = textOf(input);
  const settings = deps.services.settings;
  if (!settings) return chat.send({ html: text.unavailable });
  const match = /^(\S+)\s+(\S+)\s+(.+)$/s.exec(input.args.trim());
  if (!match?.[1] || !match[2] || !match[3]) return chat.send({ html: text.setUsage });
  const [, type, key, raw] = match;
  if (!isSettingsType(type)) return chat.send({ html: text.setUnknownType(type) });
  const account = await requireAccount(deps, input, chat);
  if (!account) return;
  const value = chatValue(raw.trim());
  try {
    await settings.set(account.userId, type, key, value);
  } catch (error) {
    if (!(error instanceof UnprocessableError || error instanceof ValidationError)) throw error;
    // The API names fields by their place in the body; in a chat, by type and key.
    const issues = error.issues.map((issue) => ({ ...issue, field: issue.field.replace(/^body\./, `${type}.`) }));
    return chat.send({ html: text.setInvalid(issues) });
  }
  await chat.send({ html: text.setDone(type, key, value) });
}
