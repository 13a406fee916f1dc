/**
 * Telegram updates as Telegram sends them, for `ops telegram simulate` and the tests: private and
 * group chats, edits, callback queries, stickers, commands with their `bot_command` entity.
 */
// Update ids of separate runs must not collide (the webhook runs each id once).
let nextUpdateId = Date.now() * 10;
let nextMessageId = 1_000;
export const freshUpdateId = () => ++nextUpdateId;
export const freshMessageId = () => ++nextMessageId;

export interface Sender {
  readonly id: number;
  readonly firstName?: string;
  readonly languageCode?: string;
}

export interface MessageOptions {
  readonly updateId?: number;
  readonly messageId?: number;
  readonly chat?: { readonly id: number; readonly type: "private" | "group" | "supergroup"; readonly title?: string };
}

export const DEFAULT_SENDER: Sender = { id: 7_012_345_678, firstName: "Minji", languageCode: "en" };

function user(sender: Sender) {
  return { id: sender.id, is_bot: false, first_name: sender.firstName ?? "Minji", username: `u${sender.id}`, ...(sender.languageCode ? { language_code: sender.languageCode } : {}) };
}

function commandEntities(text: string) {
  const match = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
  return match ? { entities: [{ offset: 0, length: match[0].length, type: "bot_command" }] } : {};
}

function chatOf(sender: Sender, options: MessageOptions) {
  const chat = options.chat ?? { id: sender.id, type: "private" as const };
  return chat.type === "private" ? { id: chat.id, type: "private", first_name: sender.firstName ?? "Minji", username: `u${sender.id}` } : { id: chat.id, type: chat.type, title: chat.title ?? "Traders" };
}

function message(text: string, sender: Sender, options: MessageOptions) {
  return { message_id: options.messageId ?? freshMessageId(), from: user(sender), chat: chatOf(sender, options), date: Math.floor(Date.now() / 1000), text, ...commandEntities(text) };
}

export function textUpdate(text: string, sender: Sender = DEFAULT_SENDER, options: MessageOptions = {}) {
  return { update_id: options.updateId ?? freshUpdateId(), message: message(text, sender, options) };
}

export function groupUpdate(text: string, sender: Sender = DEFAULT_SENDER, options: MessageOptions = {}) {
  return textUpdate(text, sender, { chat: { id: -1_001_987_654_321, type: "supergroup" }, ...options });
}

export function editedUpdate(text: string, sender: Sender = DEFAULT_SENDER, options: MessageOptions = {}) {
  const edited = { ...message(text, sender, options), edit_date: Math.floor(Date.now() / 1000) };
  return { update_id: options.updateId ?? freshUpdateId(), edited_message: edited };
}

export function stickerUpdate(sender: Sender = DEFAULT_SENDER, options: MessageOptions = {}) {
  const { text: _text, ...rest } = message("", sender, options);
  const sticker = { file_id: "CAACAgIAAxkBAAE", file_unique_id: "AgADAgAD", type: "regular", width: 512, height: 512, is_animated: false, is_video: false, emoji: "👍" };
  return { update_id: options.updateId ?? freshUpdateId(), message: { ...rest, sticker } };
}

export function callbackUpdate(data: string, messageId: number, sender: Sender = DEFAULT_SENDER, options: MessageOptions = {}) {
  const botMessage = { message_id: messageId, from: { id: 1, is_bot: true, first_name: "botstate", username: "botstate_bot" }, chat: chatOf(sender, options), date: Math.floor(Date.now() / 1000), text: "…" };
  return { update_id: options.updateId ?? freshUpdateId(), callback_query: { id: String(freshUpdateId()), from: user(sender), message: botMessage, chat_instance: "-5012345", data } };
}
