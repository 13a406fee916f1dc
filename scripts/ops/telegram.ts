import * as z from "zod/mini";
import { telegramApiConfigSchema, telegramWebhookConfigSchema } from "../../core/config";
import { catalogue } from "../../core/telegram/messages";
import { lazy } from "../../core/validation/lazy";
import { FakeTelegramControl } from "../../local/fake-telegram-api";
import type { RecordedCall } from "../../local/fake-telegram-api";
import { callbackUpdate, DEFAULT_SENDER, editedUpdate, textUpdate } from "../../local/telegram-updates";
import type { MessageOptions, Sender } from "../../local/telegram-updates";
import { configFor } from "../../runtime/config";
import { telegramApi } from "../../runtime/telegram";
import { EXIT_ERROR, EXIT_OK, UsageError, defineCommand, positiveInt } from "./command";
import type { OpsContext } from "./command";

/** The updates the bot answers; Telegram sends no others (fewer wake-ups, nothing to ignore). */
export const ALLOWED_UPDATES = ["message", "edited_message", "callback_query"] as const;

const WEBHOOK_PATH = "/telegram/webhook";
const GROUP_CHAT_ID = -1_001_234_567_890;

const options = {
  url: { type: "string" },
  "drop-pending-updates": { type: "boolean" },
  "chat-type": { type: "string" },
  "update-id": { type: "string" },
  "message-id": { type: "string" },
  "user-id": { type: "string" },
  language: { type: "string" },
  edited: { type: "boolean" },
  callback: { type: "string" },
} as const;

type Context = OpsContext<typeof options>;

/** Where the local dev server listens (written to .env.local by npm start). */
const localApiSchema = lazy(() => z.object({ API_URL: z.url() }));

export const telegramCommand = defineCommand({
  name: "telegram",
  usage: `telegram set-webhook --url <https url> [--drop-pending-updates]
telegram delete-webhook [--drop-pending-updates]
telegram webhook-info
telegram simulate "<text>" [--chat-type private|group] [--update-id N] [--message-id N] [--user-id N] [--language ko] [--edited] [--callback <data>]
set-webhook points Telegram at the webhook with TELEGRAM_WEBHOOK_SECRET as its secret token, the
allowed updates (${ALLOWED_UPDATES.join(", ")}) and the command menu (English and Korean).
simulate sends a realistic update to the local webhook (npm start) and prints one line per Bot API
call the bot made in answer, or "no replies".`,
  options,
  positionals: true,
  async run(context) {
    const [subcommand, ...rest] = context.positionals;
    switch (subcommand) {
      case "set-webhook":
        return setWebhook(context);
      case "delete-webhook":
        return deleteWebhook(context);
      case "webhook-info":
        return webhookInfo(context);
      case "simulate":
        return simulate(context, rest);
      default:
        throw new UsageError(subcommand ? `unknown telegram subcommand '${subcommand}'` : "telegram needs a subcommand: set-webhook, delete-webhook, webhook-info or simulate");
    }
  },
});

async function setWebhook({ options: given, say, requireConfig }: Context): Promise<number> {
  const url = given.url;
  if (!url) throw new UsageError("set-webhook needs --url (e.g. https://<api>/telegram/webhook)");
  if (!URL.canParse(url)) throw new UsageError("--url must be a URL");
  requireConfig([telegramApiConfigSchema, telegramWebhookConfigSchema]);
  const api = telegramApi();
  await api.setWebhook(url, {
    secret_token: configFor(telegramWebhookConfigSchema).TELEGRAM_WEBHOOK_SECRET,
    allowed_updates: [...ALLOWED_UPDATES],
    drop_pending_updates: given["drop-pending-updates"] ?? false,
  });
  for (const language of [undefined, "ko"] as const) {
    const menu = catalogue(language ?? "en").menu;
    await api.setMyCommands(Object.entries(menu).map(([command, description]) => ({ command, description })), language ? { language_code: language } : {});
  }
  say(`Webhook set to ${url} (secret token set, updates: ${ALLOWED_UPDATES.join(", ")}${given["drop-pending-updates"] ? ", pending updates dropped" : ""}); command menu set in English and Korean.`);
  return EXIT_OK;
}

async function deleteWebhook({ options: given, say, requireConfig }: Context): Promise<number> {
  requireConfig([telegramApiConfigSchema]);
  await telegramApi().deleteWebhook({ drop_pending_updates: given["drop-pending-updates"] ?? false });
  say(`Webhook deleted${given["drop-pending-updates"] ? " (pending updates dropped)" : ""}.`);
  return EXIT_OK;
}

async function webhookInfo({ say, requireConfig }: Context): Promise<number> {
  requireConfig([telegramApiConfigSchema]);
  const info = await telegramApi().getWebhookInfo();
  say(`url                  ${info.url || "(none: no webhook set)"}`);
  say(`pending updates      ${info.pending_update_count}`);
  if (info.allowed_updates) say(`allowed updates      ${info.allowed_updates.join(", ")}`);
  if (info.max_connections !== undefined) say(`max connections      ${info.max_connections}`);
  if (info.ip_address) say(`ip address           ${info.ip_address}`);
  if (info.last_error_date) say(`last error           ${new Date(info.last_error_date * 1000).toISOString()} ${info.last_error_message ?? ""}`);
  if (info.last_synchronization_error_date) say(`last sync error      ${new Date(info.last_synchronization_error_date * 1000).toISOString()}`);
  return EXIT_OK;
}

// ---- simulate ----

function simulatedUpdate(text: string, given: Context["options"]): { update: { update_id: number }; chatId: number } {
  const chatType = given["chat-type"] ?? "private";
  if (chatType !== "private" && chatType !== "group") throw new UsageError("--chat-type must be private or group");
  const sender: Sender = {
    id: given["user-id"] === undefined ? DEFAULT_SENDER.id : positiveInt("--user-id", given["user-id"]),
    ...(given.language ? { languageCode: given.language } : {}),
  };
  const chat = chatType === "group" ? { id: GROUP_CHAT_ID, type: "supergroup" as const } : { id: sender.id, type: "private" as const };
  const message: MessageOptions = {
    chat,
    ...(given["update-id"] === undefined ? {} : { updateId: positiveInt("--update-id", given["update-id"]) }),
    ...(given["message-id"] === undefined ? {} : { messageId: positiveInt("--message-id", given["message-id"]) }),
  };
  if (given.callback !== undefined) return { update: callbackUpdate(given.callback, message.messageId ?? 1, sender, message), chatId: chat.id };
  return { update: given.edited ? editedUpdate(text, sender, message) : textUpdate(text, sender, message), chatId: chat.id };
}

/** One line per Bot API call, as an operator reads it. */
export function describeCall(call: RecordedCall): string {
  const { method, params } = call;
  const oneLine = (value: unknown) => String(value).replaceAll("\n", " ⏎ ");
  const buttons = (params.reply_markup as { inline_keyboard?: { text: string }[][] } | undefined)?.inline_keyboard;
  const keyboard = buttons ? `  [${buttons.flat().map((button) => button.text).join(" | ")}]` : "";
  switch (method) {
    case "sendMessage":
      return `sendMessage chat=${params.chat_id}: ${oneLine(params.text)}${keyboard}`;
    case "editMessageText":
      return `editMessageText chat=${params.chat_id} message=${params.message_id}: ${oneLine(params.text)}${keyboard}`;
    case "deleteMessage":
      return `deleteMessage chat=${params.chat_id} message=${params.message_id}`;
    default:
      return `${method} ${JSON.stringify(params)}`;
  }
}

async function simulate({ options: given, say, warn, requireConfig }: Context, words: readonly string[]): Promise<number> {
  const text = words.join(" ");
  if (text === "" && given.callback === undefined) throw new UsageError('simulate needs the text to send, e.g. telegram simulate "/start"');
  requireConfig([localApiSchema, telegramApiConfigSchema, telegramWebhookConfigSchema]);
  const { API_URL } = configFor(localApiSchema);
  const fake = new FakeTelegramControl(configFor(telegramApiConfigSchema).TELEGRAM_API_ROOT);
  const before = await fake.recorded().catch(() => {
    throw new Error(`TELEGRAM_API_ROOT (${fake.root}) is not the local fake Bot API: simulate works against npm start`);
  });
  const { update } = simulatedUpdate(text, given);
  const response = await fetch(`${API_URL.replace(/\/$/, "")}${WEBHOOK_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": configFor(telegramWebhookConfigSchema).TELEGRAM_WEBHOOK_SECRET },
    body: JSON.stringify(update),
  });
  await response.arrayBuffer();
  const calls = await fake.recorded(before.length);
  warn(`update ${update.update_id} -> webhook answered ${response.status}`);
  if (calls.length === 0) say("no replies");
  for (const call of calls) say(describeCall(call));
  return response.status < 500 ? EXIT_OK : EXIT_ERROR;
}
