import { randomBytes, randomInt } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { presetBotInfo } from "../runtime/telegram/bot";
import { parseTelegramHtml } from "./fake-telegram-html";
import { listenLocal } from "./listen";

/**
 * A stand-in for the Telegram Bot API (`https://api.telegram.org`) on 127.0.0.1: the bot, the
 * admin alerts and the ops commands talk to it through their usual clients by pointing their API
 * root at it (TELEGRAM_API_ROOT). It answers the methods botstate uses the way the Bot API does
 * (same envelopes, error codes and descriptions, HTML and length checks on messages), fails on
 * demand (429 with `retry_after`, or any error), and records every call it receives.
 *
 * Control endpoints, for tests and other processes:
 * - `GET {root}/_recorded[?since=N]`: `[{method, params, at}]`, every call in order (from index N);
 * - `DELETE {root}/_recorded`: forget them;
 * - `POST {root}/_fail` `{method?, times?, errorCode?, description?, retryAfter?}`: the next `times`
 *   (default 1) calls of `method` (default: any) fail; default a 429 with `retryAfter` (default 1) s.
 */

export interface RecordedCall {
  readonly method: string;
  /** As received: JSON bodies as sent, form and query values as strings (JSON-looking ones parsed). */
  readonly params: Readonly<Record<string, unknown>>;
  /** ISO timestamp of receipt. */
  readonly at: string;
}

export interface FailureSpec {
  /** Case-insensitive Bot API method name; absent: any method. */
  readonly method?: string;
  readonly times?: number;
  readonly errorCode?: number;
  readonly description?: string;
  /** Seconds; sent as `parameters.retry_after` (429s default to 1). */
  readonly retryAfter?: number;
}

export interface FakeTelegramApiOptions {
  /** The only token accepted (others get 401); absent: any well-formed token. */
  readonly token?: string;
  readonly username?: string;
  readonly host?: string;
  readonly port?: number;
}

export interface FakeTelegramApi {
  /** What clients use as their API root: http://127.0.0.1:PORT (no trailing slash). */
  readonly root: string;
  /** The accepted token (a generated one when none was given). */
  readonly token: string;
  readonly bot: BotUser;
  calls(): RecordedCall[];
  fail(spec: FailureSpec): void;
  clear(): void;
  close(): Promise<void>;
}

export interface BotUser {
  readonly id: number;
  readonly is_bot: true;
  readonly first_name: string;
  readonly username: string;
}

type Params = Record<string, unknown>;
type Answer = { readonly ok: true; readonly result: unknown; readonly description?: string } | BotApiFailure;

interface BotApiFailure {
  readonly ok: false;
  readonly error_code: number;
  readonly description: string;
  readonly parameters?: { readonly retry_after: number };
}

interface WebhookState {
  url: string;
  secretToken?: string;
  allowedUpdates?: unknown;
  maxConnections: number;
}

interface State {
  readonly bot: BotUser;
  nextMessageId: number;
  webhook: WebhookState;
  commands: unknown;
  readonly calls: RecordedCall[];
  readonly failures: (FailureSpec & { remaining: number })[];
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_MESSAGE_LENGTH = 4096;
const TOKEN_SHAPE = /^\d+:[A-Za-z0-9_-]{20,}$/;

const badRequest = (description: string): BotApiFailure => ({ ok: false, error_code: 400, description: `Bad Request: ${description}` });
const ok = (result: unknown, description?: string): Answer => ({ ok: true, result, ...(description ? { description } : {}) });

/** A token of the Bot API's shape, `<bot id>:<35 characters>`. */
export function generateBotToken(): string {
  return `${randomInt(1_000_000_000, 9_999_999_999)}:${randomBytes(27).toString("base64url").slice(0, 35)}`;
}

export async function startFakeTelegramApi(options: FakeTelegramApiOptions = {}): Promise<FakeTelegramApi> {
  const token = options.token ?? generateBotToken();
  const bot: BotUser = { id: Number(token.split(":")[0]), is_bot: true, first_name: "botstate", username: options.username ?? "botstate_bot" };
  const state: State = { bot, nextMessageId: 1000, webhook: { url: "", maxConnections: 40 }, commands: [], calls: [], failures: [] };
  const server = createServer((req, res) => {
    route(req, state, options.token === undefined ? null : token).then(
      ({ status, body }) => sendJson(res, status, body),
      (error: unknown) => sendJson(res, 400, badRequest(error instanceof Error ? error.message : String(error))),
    );
  });
  const authority = await listenLocal(server, options.host ?? "127.0.0.1", options.port);
  return {
    root: `http://${authority}`,
    token,
    bot,
    calls: () => [...state.calls],
    fail: (spec) => void state.failures.push({ ...spec, remaining: spec.times ?? 1 }),
    clear: () => void state.calls.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function route(req: IncomingMessage, state: State, requiredToken: string | null): Promise<{ status: number; body: unknown }> {
  const url = new URL(req.url ?? "/", "http://fake-telegram");
  const method = (req.method ?? "GET").toUpperCase();
  if (url.pathname === "/_recorded") return control(method, url, state);
  if (url.pathname === "/_fail" && method === "POST") {
    const spec = (await readParams(req, url)) as FailureSpec;
    state.failures.push({ ...spec, remaining: spec.times ?? 1 });
    return { status: 200, body: { ok: true } };
  }
  const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
  if (!match?.[1] || !match[2]) return { status: 404, body: { ok: false, error_code: 404, description: "Not Found" } };
  const params = await readParams(req, url);
  state.calls.push({ method: match[2], params, at: new Date().toISOString() });
  const answer = answerCall(state, match[1], match[2], params, requiredToken);
  return { status: answer.ok ? 200 : answer.error_code, body: answer };
}

function control(method: string, url: URL, state: State): { status: number; body: unknown } {
  if (method === "DELETE") {
    state.calls.splice(0);
    return { status: 200, body: { ok: true } };
  }
  const since = Number(url.searchParams.get("since") ?? 0);
  return { status: 200, body: state.calls.slice(Number.isInteger(since) && since > 0 ? since : 0) };
}

function answerCall(state: State, token: string, method: string, params: Params, requiredToken: string | null): Answer {
  if (requiredToken === null ? !TOKEN_SHAPE.test(token) : token !== requiredToken) return { ok: false, error_code: 401, description: "Unauthorized" };
  const failure = takeFailure(state, method);
  if (failure) return failure;
  const handler = METHODS[method.toLowerCase()];
  if (!handler) return { ok: false, error_code: 404, description: "Not Found: method not found" };
  return handler(params, state);
}

function takeFailure(state: State, method: string): BotApiFailure | undefined {
  const index = state.failures.findIndex((spec) => spec.method === undefined || spec.method.toLowerCase() === method.toLowerCase());
  const spec = state.failures[index];
  if (!spec) return undefined;
  spec.remaining -= 1;
  if (spec.remaining <= 0) state.failures.splice(index, 1);
  const errorCode = spec.errorCode ?? 429;
  const retryAfter = spec.retryAfter ?? (errorCode === 429 ? 1 : undefined);
  const description = spec.description ?? (errorCode === 429 ? `Too Many Requests: retry after ${retryAfter}` : "Internal Server Error");
  return { ok: false, error_code: errorCode, description, ...(retryAfter === undefined ? {} : { parameters: { retry_after: retryAfter } }) };
}

async function readParams(req: IncomingMessage, url: URL): Promise<Params> {
  const params: Params = {};
  for (const [name, value] of url.searchParams) params[name] = decodeFormValue(value);
  const body = await readBody(req);
  if (body.length === 0) return params;
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type === "application/json") {
    const parsed = JSON.parse(body) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("parameters must be a JSON object");
    return { ...params, ...(parsed as Params) };
  }
  if (type === "application/x-www-form-urlencoded") {
    for (const [name, value] of new URLSearchParams(body)) params[name] = decodeFormValue(value);
    return params;
  }
  throw new Error(`unsupported content type ${type ?? "(none)"} (the fake reads JSON, form and query parameters)`);
}

function decodeFormValue(value: string): unknown {
  if (!/^[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

// ---- the methods ----

function chatOf(chatId: unknown): Record<string, unknown> | BotApiFailure {
  if (typeof chatId === "string" && /^@\w{4,}$/.test(chatId)) return { id: -1001000000000 - chatId.length, type: "channel", title: chatId.slice(1), username: chatId.slice(1) };
  const id = typeof chatId === "number" ? chatId : typeof chatId === "string" && /^-?\d{1,16}$/.test(chatId) ? Number(chatId) : Number.NaN;
  if (!Number.isSafeInteger(id) || id === 0) return badRequest(chatId === undefined ? "chat_id is empty" : "chat not found");
  if (id > 0) return { id, type: "private", first_name: "User" };
  return id <= -1_000_000_000_000 ? { id, type: "supergroup", title: "Group" } : { id, type: "group", title: "Group" };
}

const isFailure = (value: unknown): value is BotApiFailure => (value as { ok?: unknown }).ok === false;

/** The text a user would see, or the Bot API's complaint about it. */
function messageText(params: Params): string | BotApiFailure {
  if (typeof params.text !== "string" || params.text.trim() === "") return badRequest("message text is empty");
  let plain = params.text;
  if (typeof params.parse_mode === "string" && params.parse_mode.toUpperCase() === "HTML") {
    const parsed = parseTelegramHtml(params.text);
    if (!parsed.ok) return badRequest(parsed.error);
    plain = parsed.plain;
  }
  if (plain.trim() === "") return badRequest("message text is empty");
  if (plain.length > MAX_MESSAGE_LENGTH) return badRequest("message is too long");
  return plain;
}

function messageId(value: unknown): number | BotApiFailure {
  const id = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(id) && id > 0 ? id : badRequest(value === undefined ? "message_id is empty" : "message identifier is not specified");
}

function sendMessage(params: Params, state: State): Answer {
  const chat = chatOf(params.chat_id);
  if (isFailure(chat)) return chat;
  const text = messageText(params);
  if (isFailure(text)) return text;
  state.nextMessageId += 1;
  return ok({ message_id: state.nextMessageId, from: state.bot, chat, date: Math.floor(Date.now() / 1000), text });
}

function editMessageText(params: Params, state: State): Answer {
  const chat = chatOf(params.chat_id);
  if (isFailure(chat)) return chat;
  const id = messageId(params.message_id);
  if (isFailure(id)) return id;
  const text = messageText(params);
  if (isFailure(text)) return text;
  return ok({ message_id: id, from: state.bot, chat, date: Math.floor(Date.now() / 1000), edit_date: Math.floor(Date.now() / 1000), text });
}

function deleteMessage(params: Params): Answer {
  const chat = chatOf(params.chat_id);
  if (isFailure(chat)) return chat;
  const id = messageId(params.message_id);
  return isFailure(id) ? id : ok(true);
}

const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

function setWebhook(params: Params, state: State): Answer {
  const url = typeof params.url === "string" ? params.url : "";
  if (url === "") return deleteWebhook(params, state);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return badRequest("bad webhook: Failed to resolve host: Name or service not known");
  }
  // The real API wants HTTPS on 443, 80, 88 or 8443; the fake also takes plain http on loopback.
  const loopback = parsed.hostname === "127.0.0.1" || parsed.hostname === "localhost";
  if (parsed.protocol !== "https:" && !loopback) return badRequest("bad webhook: An HTTPS URL must be provided for webhook");
  if (params.secret_token !== undefined && !(typeof params.secret_token === "string" && SECRET_TOKEN.test(params.secret_token))) {
    return badRequest("secret token contains unallowed characters");
  }
  state.webhook = {
    url,
    ...(typeof params.secret_token === "string" ? { secretToken: params.secret_token } : {}),
    ...(params.allowed_updates !== undefined ? { allowedUpdates: params.allowed_updates } : {}),
    maxConnections: Number(params.max_connections ?? 40),
  };
  return ok(true, "Webhook was set");
}

function deleteWebhook(_params: Params, state: State): Answer {
  const had = state.webhook.url !== "";
  state.webhook = { url: "", maxConnections: 40 };
  return ok(true, had ? "Webhook was deleted" : "Webhook is already deleted");
}

function getWebhookInfo(_params: Params, state: State): Answer {
  const { webhook } = state;
  return ok({
    url: webhook.url,
    has_custom_certificate: false,
    pending_update_count: 0,
    ...(webhook.url ? { max_connections: webhook.maxConnections, ip_address: "127.0.0.1" } : {}),
    ...(webhook.allowedUpdates !== undefined ? { allowed_updates: webhook.allowedUpdates } : {}),
  });
}

const METHODS: Readonly<Record<string, (params: Params, state: State) => Answer>> = {
  // The same answer the webhook presets instead of calling getMe on a cold start.
  getme: (_params, state) => ok({ ...presetBotInfo(`${state.bot.id}:x`, state.bot.username), ...state.bot }),
  sendmessage: sendMessage,
  editmessagetext: editMessageText,
  deletemessage: deleteMessage,
  answercallbackquery: () => ok(true),
  sendchataction: (params) => {
    const chat = chatOf(params.chat_id);
    return isFailure(chat) ? chat : ok(true);
  },
  setmycommands: (params, state) => {
    state.commands = params.commands ?? [];
    return ok(true);
  },
  getmycommands: (_params, state) => ok(state.commands),
  setwebhook: setWebhook,
  deletewebhook: deleteWebhook,
  getwebhookinfo: getWebhookInfo,
};

// ---- the control endpoints, from another process ----

/** Reads and steers a fake Bot API over HTTP (a test's own fake, or the one `npm start` runs). */
export class FakeTelegramControl {
  constructor(readonly root: string) {}

  async recorded(since = 0): Promise<RecordedCall[]> {
    const response = await fetch(`${this.root}/_recorded${since > 0 ? `?since=${since}` : ""}`);
    if (!response.ok) throw new Error(`GET ${this.root}/_recorded answered ${response.status}`);
    return (await response.json()) as RecordedCall[];
  }

  async clear(): Promise<void> {
    const response = await fetch(`${this.root}/_recorded`, { method: "DELETE" });
    if (!response.ok) throw new Error(`DELETE ${this.root}/_recorded answered ${response.status}`);
  }

  async fail(spec: FailureSpec): Promise<void> {
    const response = await fetch(`${this.root}/_fail`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(spec) });
    if (!response.ok) throw new Error(`POST ${this.root}/_fail answered ${response.status}`);
  }
}
