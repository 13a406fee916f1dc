import type { APIGatewayProxyEventV2, Context } from "aws-lambda";

/**
 * Updates shaped as Telegram sends them (Bot API 7+): private and group chats, edits, callback
 * queries, stickers, commands with `bot_command` entities.
 */
let nextUpdateId = 800_000_000 + Math.floor(Math.random() * 100_000_000);
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

export const TEST_USER: Sender = { id: 7_012_345_678, firstName: "Minji", languageCode: "en" };

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

export function textUpdate(text: string, sender: Sender = TEST_USER, options: MessageOptions = {}) {
  return { update_id: options.updateId ?? freshUpdateId(), message: message(text, sender, options) };
}

export function groupUpdate(text: string, sender: Sender = TEST_USER, options: MessageOptions = {}) {
  return textUpdate(text, sender, { chat: { id: -1_001_987_654_321, type: "supergroup" }, ...options });
}

export function editedUpdate(text: string, sender: Sender = TEST_USER, options: MessageOptions = {}) {
  const edited = { ...message(text, sender, options), edit_date: Math.floor(Date.now() / 1000) };
  return { update_id: options.updateId ?? freshUpdateId(), edited_message: edited };
}

export function stickerUpdate(sender: Sender = TEST_USER, options: MessageOptions = {}) {
  const { text: _text, ...rest } = message("", sender, options);
  const sticker = { file_id: "CAACAgIAAxkBAAE", file_unique_id: "AgADAgAD", type: "regular", width: 512, height: 512, is_animated: false, is_video: false, emoji: "👍" };
  return { update_id: options.updateId ?? freshUpdateId(), message: { ...rest, sticker } };
}

export function callbackUpdate(data: string, messageId: number, sender: Sender = TEST_USER, options: MessageOptions = {}) {
  const botMessage = { message_id: messageId, from: { id: 1, is_bot: true, first_name: "botstate", username: "botstate_bot" }, chat: chatOf(sender, options), date: Math.floor(Date.now() / 1000), text: "…" };
  return { update_id: options.updateId ?? freshUpdateId(), callback_query: { id: String(freshUpdateId()), from: user(sender), message: botMessage, chat_instance: "-5012345", data } };
}

/** What API Gateway (payload 2.0) hands the function for Telegram's POST. */
export function webhookEvent(body: unknown, secret: string | undefined): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /telegram/webhook",
    rawPath: "/telegram/webhook",
    rawQueryString: "",
    headers: { "content-type": "application/json", ...(secret === undefined ? {} : { "x-telegram-bot-api-secret-token": secret }) },
    requestContext: {
      accountId: "000000000000",
      apiId: "test",
      domainName: "test",
      domainPrefix: "test",
      http: { method: "POST", path: "/telegram/webhook", protocol: "HTTP/1.1", sourceIp: "91.108.6.1", userAgent: "" },
      requestId: `r${freshUpdateId()}`,
      routeKey: "POST /telegram/webhook",
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

export function lambdaContext(remainingMs = 10_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "telegram-webhook",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:telegram-webhook",
    memoryLimitInMB: "512",
    awsRequestId: `a${freshUpdateId()}`,
    logGroupName: "/aws/lambda/telegram-webhook",
    logStreamName: "test",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
