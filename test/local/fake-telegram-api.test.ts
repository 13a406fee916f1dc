import { Api, GrammyError } from "grammy";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeTelegramControl, generateBotToken } from "../../local/fake-telegram-api";
import { parseTelegramHtml } from "../../local/fake-telegram-html";
import { callsOf, startTestTelegram, waitForCalls } from "../support/telegram";
import type { FakeTelegramApi } from "../support/telegram";

let fake: FakeTelegramApi;
let api: Api;
let control: FakeTelegramControl;

beforeAll(async () => {
  fake = await startTestTelegram({ token: generateBotToken() });
  // grammY's own client, as the bot and the alerts use it.
  api = new Api(fake.token, { apiRoot: fake.root });
  control = new FakeTelegramControl(fake.root);
});

afterAll(() => fake?.close());
beforeEach(() => control.clear());

async function botApiError(call: Promise<unknown>): Promise<GrammyError> {
  const error = await call.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(GrammyError);
  return error as GrammyError;
}

describe("fake Bot API: answers like the Bot API", () => {
  it("getMe describes the bot of the token", async () => {
    const me = await api.getMe();
    expect(me).toMatchObject({ id: Number(fake.token.split(":")[0]), is_bot: true, username: "botstate_bot" });
  });

  it("sendMessage returns the message with a fresh id, the chat and the text a user sees", async () => {
    const first = await api.sendMessage(7012345678, "<b>Hi</b> &amp; welcome", { parse_mode: "HTML" });
    const second = await api.sendMessage(-1001234567890, "plain");
    expect(first).toMatchObject({ chat: { id: 7012345678, type: "private" }, text: "Hi & welcome", from: { is_bot: true } });
    expect(second.chat.type).toBe("supergroup");
    expect(second.message_id).toBeGreaterThan(first.message_id);
  });

  it("refuses what the Bot API refuses: bad HTML, over 4096 characters, empty text, no chat", async () => {
    expect((await botApiError(api.sendMessage(1, "a < b", { parse_mode: "HTML" }))).description).toMatch(/^Bad Request: can't parse entities/);
    expect((await botApiError(api.sendMessage(1, "<b>open", { parse_mode: "HTML" }))).description).toContain('end tag corresponding to start tag "b"');
    expect((await botApiError(api.sendMessage(1, "x".repeat(4097)))).description).toBe("Bad Request: message is too long");
    expect((await botApiError(api.sendMessage(1, "  "))).error_code).toBe(400);
    // Escaped markup counts as the characters it shows: 4096 of them is fine.
    await expect(api.sendMessage(1, "&lt;".repeat(4096), { parse_mode: "HTML" })).resolves.toMatchObject({ text: "<".repeat(4096) });
  });

  it("deleteMessage needs a chat and a message id", async () => {
    await expect(api.deleteMessage(7012345678, 42)).resolves.toBe(true);
    expect((await botApiError(api.raw.deleteMessage({ chat_id: 7012345678 } as never))).description).toBe("Bad Request: message_id is empty");
  });

  it("keeps the webhook: setWebhook with secret and allowed updates, getWebhookInfo, deleteWebhook", async () => {
    await api.setWebhook("https://example.org/telegram/webhook", { secret_token: "s3cret_-token", allowed_updates: ["message", "callback_query"] });
    expect(await api.getWebhookInfo()).toMatchObject({ url: "https://example.org/telegram/webhook", allowed_updates: ["message", "callback_query"], pending_update_count: 0 });
    expect((await botApiError(api.setWebhook("https://example.org/x", { secret_token: "bad token!" }))).description).toBe("Bad Request: secret token contains unallowed characters");
    expect((await botApiError(api.setWebhook("http://example.org/x"))).description).toContain("HTTPS URL must be provided");
    await api.deleteWebhook();
    expect((await api.getWebhookInfo()).url).toBe("");
  });

  it("answers 401 to another token and 404 to an unknown method", async () => {
    const stranger = new Api(generateBotToken(), { apiRoot: fake.root });
    expect((await botApiError(stranger.getMe())).error_code).toBe(401);
    const unknown = await fetch(`${fake.root}/bot${fake.token}/sendTelepathy`, { method: "POST" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ ok: false, error_code: 404, description: "Not Found: method not found" });
  });
});

describe("fake Bot API: failures on demand", () => {
  it("answers 429 with retry_after for the next calls of a method, then recovers", async () => {
    await control.fail({ method: "sendMessage", times: 2, retryAfter: 7 });
    const throttled = await botApiError(api.sendMessage(1, "one"));
    expect(throttled.error_code).toBe(429);
    expect(throttled.parameters.retry_after).toBe(7);
    expect(throttled.description).toBe("Too Many Requests: retry after 7");
    // Other methods are not affected.
    await expect(api.deleteMessage(1, 5)).resolves.toBe(true);
    expect((await botApiError(api.sendMessage(1, "two"))).error_code).toBe(429);
    await expect(api.sendMessage(1, "three")).resolves.toMatchObject({ text: "three" });
  });

  it("fails with any error code and description", async () => {
    fake.fail({ errorCode: 403, description: "Forbidden: bot was blocked by the user" });
    const blocked = await botApiError(api.sendMessage(1, "hello"));
    expect(blocked.error_code).toBe(403);
    expect(blocked.description).toBe("Forbidden: bot was blocked by the user");
  });
});

describe("fake Bot API: every call recorded in order", () => {
  it("lists method, params and time at GET /_recorded, from any process, including failed calls", async () => {
    const before = Date.now();
    await control.fail({ method: "sendMessage" });
    await botApiError(api.sendMessage(7012345678, "first"));
    await api.sendMessage(7012345678, "second", { parse_mode: "HTML" });
    await api.deleteMessage(7012345678, 99);
    const response = await fetch(`${fake.root}/_recorded`);
    const calls = (await response.json()) as { method: string; params: Record<string, unknown>; at: string }[];
    expect(calls.map((call) => call.method)).toEqual(["sendMessage", "sendMessage", "deleteMessage"]);
    expect(calls[1]?.params).toEqual({ chat_id: 7012345678, text: "second", parse_mode: "HTML" });
    expect(calls[2]?.params).toEqual({ chat_id: 7012345678, message_id: 99 });
    for (const call of calls) {
      expect(Object.keys(call).sort()).toEqual(["at", "method", "params"]);
      expect(Date.parse(call.at)).toBeGreaterThanOrEqual(before - 1000);
    }
    expect((await control.recorded(2)).map((call) => call.method)).toEqual(["deleteMessage"]);
  });

  it("reads form-encoded and query parameters as the Bot API does", async () => {
    await fetch(`${fake.root}/bot${fake.token}/sendMessage?chat_id=5`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ text: "form", reply_markup: JSON.stringify({ inline_keyboard: [] }) }).toString(),
    });
    const [call] = callsOf(await control.recorded(), "sendmessage");
    expect(call?.params).toEqual({ chat_id: "5", text: "form", reply_markup: { inline_keyboard: [] } });
  });

  it("waitForCalls polls until the calls arrive, and fails naming what it saw", async () => {
    const sending = new Promise((resolve) => setTimeout(resolve, 50)).then(() => api.sendMessage(3, "later"));
    const calls = await waitForCalls(fake.root, (seen) => callsOf(seen, "sendMessage").length === 1);
    expect(calls[0]?.params.text).toBe("later");
    await sending;
    await expect(waitForCalls(fake, (seen) => seen.length > 5, { timeoutMs: 100 })).rejects.toThrow(/sendMessage/);
  });
});

describe("Telegram HTML rules", () => {
  it("accepts the documented tags and entities and counts what a user sees", () => {
    expect(parseTelegramHtml('<b>a</b> <a href="https://x.org/?a=1&amp;b=2">link</a> <code>&lt;x&gt;</code> &#128512;')).toEqual({ ok: true, plain: "a link <x> 😀" });
  });

  it("refuses unknown tags, crossed tags, bare ampersands and unknown entities", () => {
    expect(parseTelegramHtml("<div>x</div>").ok).toBe(false);
    expect(parseTelegramHtml("<b><i>x</b></i>").ok).toBe(false);
    expect(parseTelegramHtml("Tom & Jerry").ok).toBe(false);
    expect(parseTelegramHtml("&nbsp;").ok).toBe(false);
    expect(parseTelegramHtml("&#99999999;").ok).toBe(false);
    expect(parseTelegramHtml("1 > 0").ok).toBe(false);
  });
});
