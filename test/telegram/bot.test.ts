import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UnavailableError } from "../../core/errors";
import { startBotHarness, sentTexts, TEST_SECRET } from "./support/harness";
import type { BotHarness } from "./support/harness";
import { callbackUpdate, editedUpdate, freshUpdateId, groupUpdate, stickerUpdate, textUpdate } from "./support/updates";
import type { Sender } from "./support/updates";

let bot: BotHarness;
let senderSeq = 0;
/** A Telegram user of its own per test (ids above 2^31, as real ones are). */
const newSender = (languageCode = "en", firstName = "Minji"): Sender => ({ id: 7_100_000_000 + ++senderSeq, firstName, languageCode });

const KEYS = { apiKey: "8d7c6b5a-1234-4cde-9f00-abcdefab9876", secretKey: "22582BD0CFF14C41EDBF1AB98506286D", passphrase: "Trade-2024!" };
const UID = "518796558012178692";
const setapi = (keys: Partial<typeof KEYS> = {}) => {
  const k = { ...KEYS, ...keys };
  return `/setapi ${k.apiKey} ${k.secretKey} ${k.passphrase}`;
};
/** The log entries written while `work` ran. */
async function logsOf(work: () => Promise<unknown>) {
  const before = bot.logs.length;
  await work();
  return bot.logs.slice(before);
}

beforeAll(async () => {
  bot = await startBotHarness();
});
afterAll(() => bot?.close());
beforeEach(() => {
  // One OKX account for the keys above, owned by nobody yet (registrations of other tests forgotten).
  bot.services.exchange.accounts.set(KEYS.apiKey, { ...KEYS, uid: UID });
  for (const [telegramId, account] of bot.services.accounts.byTelegramId) if (account.okxUid === UID) bot.services.accounts.byTelegramId.delete(telegramId);
  bot.services.exchange.outage = false;
  bot.services.registration.failWith = null;
});

/** Registers `sender` directly (as if /setapi had run). */
function registered(sender: Sender, okxUid = `5187965580${String(sender.id).slice(-8)}`) {
  const userId = crypto.randomUUID();
  bot.services.accounts.byTelegramId.set(String(sender.id), { userId, telegramId: String(sender.id), okxUid });
  return userId;
}

describe("webhook: secret token", () => {
  it.each([
    ["missing", undefined],
    ["wrong", "not-the-secret-0123456789"],
    ["a prefix of the right one", TEST_SECRET.slice(0, -1)],
  ])("a %s secret is 401 and nothing runs", async (_name, secret) => {
    const marksBefore = bot.fast.calls + bot.durable.calls;
    const { status, calls } = await bot.deliver(textUpdate("/help"), { secret });
    expect(status).toBe(401);
    expect(calls).toEqual([]);
    expect(bot.fast.calls + bot.durable.calls).toBe(marksBefore);
  });
});

describe("webhook: malformed and unknown updates are acknowledged", () => {
  it.each([
    ["not JSON", "{not json"],
    ["no update_id", { message: { text: "/help" } }],
    ["a negative update_id", { update_id: -4, message: {} }],
  ])("%s: 200, logged, no call", async (_name, body) => {
    const { status, calls } = await bot.deliver(body);
    expect(status).toBe(200);
    expect(calls).toEqual([]);
    expect(bot.logs.at(-1)).toMatchObject({ level: "warn", message: "telegram webhook: malformed update acknowledged" });
  });

  it("hostile bodies with the right secret never make a 5xx", async () => {
    const bodies: unknown[] = [
      "",
      "\u0000\uffff",
      `${"[".repeat(50_000)}${"]".repeat(50_000)}`,
      '{"update_id": 1e400}',
      '{"update_id": 12.5}',
      { update_id: freshUpdateId(), message: "not an object" },
      { update_id: freshUpdateId(), message: { text: "/help" } },
      { update_id: freshUpdateId(), message: { text: "/help", chat: { id: "abc", type: "private" }, from: { id: 1, is_bot: false, first_name: "x" }, message_id: 1, date: 1 } },
      { update_id: freshUpdateId(), message: { text: 42, chat: { id: 5, type: "private" }, from: { id: 5, is_bot: false, first_name: "x" }, message_id: 1, date: 1 } },
      { update_id: freshUpdateId(), callback_query: { id: "1", from: { id: 5, is_bot: false, first_name: "x" }, data: "positions:99999" } },
      { update_id: freshUpdateId(), message: { text: "\ud800/help", chat: { id: 5, type: "private" }, from: { id: 5, is_bot: false, first_name: "\udfff" }, message_id: 1, date: 1 } },
    ];
    for (const body of bodies) {
      const { status } = await bot.deliver(body);
      expect(status, JSON.stringify(body).slice(0, 80)).toBe(200);
    }
  });

  it("a sticker, a channel post, a reaction: 200, marked handled, nothing sent", async () => {
    for (const update of [
      stickerUpdate(newSender()),
      { update_id: freshUpdateId(), channel_post: { message_id: 5, chat: { id: -1001234, type: "channel", title: "News" }, date: 1, text: "/help" } },
      { update_id: freshUpdateId(), message_reaction: { chat: { id: 5, type: "private" }, message_id: 3, date: 1, old_reaction: [], new_reaction: [{ type: "emoji", emoji: "👍" }] } },
    ]) {
      const { status, calls } = await bot.deliver(update);
      expect(status).toBe(200);
      expect(calls).toEqual([]);
      expect(bot.fast.marks.get(update.update_id)?.state).toBe("done");
    }
  });
});

describe("webhook: each update once", () => {
  it("a duplicate or replayed update does nothing the second time", async () => {
    const update = textUpdate("/help", newSender());
    const first = await bot.deliver(update);
    const second = await bot.deliver(update);
    const replay = await bot.deliver(JSON.parse(JSON.stringify(update)));
    expect(sentTexts(first.calls)).toHaveLength(1);
    expect([second.status, replay.status]).toEqual([200, 200]);
    expect([...second.calls, ...replay.calls]).toEqual([]);
  });

  it("an update another container is handling (live lease) is a 503, so Telegram comes back", async () => {
    const update = textUpdate("/help", newSender());
    await bot.fast.claim(update.update_id, "someone-else", 30_000);
    const { status, calls, response } = await bot.deliver(update);
    expect(status).toBe(503);
    expect(response.headers).toMatchObject({ "retry-after": "1" });
    expect(calls).toEqual([]);
  });

  it("a transient failure is a 503 and frees the update; the redelivery is handled once", async () => {
    const sender = newSender();
    bot.services.registration.failWith = new UnavailableError("postgres down");
    const update = textUpdate(setapi(), sender);
    const failed = await bot.deliver(update);
    expect(failed.status).toBe(503);
    expect(failed.calls.map((call) => call.method)).toEqual(["deleteMessage"]);
    expect(bot.fast.marks.has(update.update_id)).toBe(false);

    bot.services.registration.failWith = null;
    const retried = await bot.deliver(update);
    expect(retried.status).toBe(200);
    expect(retried.calls.map((call) => call.method)).toEqual(["deleteMessage", "sendMessage"]);
    expect(sentTexts(retried.calls)[0]).toContain("Registered");
    const again = await bot.deliver(update);
    expect(again.calls).toEqual([]);
    expect(bot.services.registration.registered.filter((input) => input.telegramId === String(sender.id))).toHaveLength(1);
  });

  it("a bug is logged and acknowledged (200, not redelivered forever)", async () => {
    const sender = newSender();
    registered(sender);
    const original = bot.services.positions.status.bind(bot.services.positions);
    bot.services.positions.status = () => Promise.reject(new TypeError("cannot read properties of undefined"));
    try {
      const update = textUpdate("/status", sender);
      const { status } = await bot.deliver(update);
      expect(status).toBe(200);
      expect(bot.logs.some((entry) => entry.level === "error" && entry.message === "telegram: update failed, acknowledged")).toBe(true);
      expect((await bot.deliver(update)).calls).toEqual([]);
    } finally {
      bot.services.positions.status = original;
    }
  });

  it("Redis down: Postgres keeps the marks, and Redis is checked against them when it is back", async () => {
    const update = textUpdate("/help", newSender());
    bot.fast.down = true;
    try {
      const first = await bot.deliver(update);
      expect(sentTexts(first.calls)).toHaveLength(1);
      expect(bot.durable.marks.get(update.update_id)?.state).toBe("done");
      expect((await bot.deliver(update)).calls).toEqual([]);
    } finally {
      bot.fast.down = false;
    }
    // Redis never saw this update; the Postgres mark stops it from running again.
    const afterOutage = await bot.deliver(update);
    expect(afterOutage.calls).toEqual([]);
    expect(bot.fast.marks.get(update.update_id)?.state).toBe("done");
  });

  it("Redis and Postgres both down: 503, nothing runs", async () => {
    bot.fast.down = true;
    bot.durable.down = true;
    try {
      const { status, calls } = await bot.deliver(textUpdate("/help", newSender()));
      expect(status).toBe(503);
      expect(calls).toEqual([]);
    } finally {
      bot.fast.down = false;
      bot.durable.down = false;
    }
  });

  it("a short Bot API 429 is waited out; a long one fails the update for redelivery", async () => {
    const sender = newSender();
    bot.telegram.fail({ method: "sendMessage", retryAfter: 1 });
    const short = await bot.deliver(textUpdate("/help", sender));
    expect(short.status).toBe(200);
    expect(short.calls.map((call) => call.method)).toEqual(["sendMessage", "sendMessage"]);

    bot.telegram.fail({ method: "sendMessage", retryAfter: 30 });
    const update = textUpdate("/help", sender);
    expect((await bot.deliver(update)).status).toBe(503);
    expect(sentTexts((await bot.deliver(update)).calls)).toHaveLength(1);
  });

  it("never runs over its budget: a hanging call is cut at the budget with a 503", async () => {
    const slow = await startBotHarness({ budgetMs: 300 });
    try {
      const sender = newSender();
      slow.services.accounts.findByTelegramId = () => new Promise(() => undefined);
      const started = performance.now();
      const { status } = await slow.deliver(textUpdate("/start", sender));
      expect(status).toBe(503);
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      await slow.close();
    }
  });
});

describe("rate limit per chat", () => {
  it("over the limit: one short reply, then silence; other chats are not affected", async () => {
    const sender = newSender();
    bot.rateLimiter.counts.set(String(sender.id), bot.rateLimiter.limit - 2);
    const texts: string[][] = [];
    for (let i = 0; i < 4; i += 1) texts.push(sentTexts((await bot.deliver(textUpdate("/help", sender))).calls));
    expect(texts[0]?.[0]).toContain("Commands");
    expect(texts[1]?.[0]).toContain("Commands");
    expect(texts[2]).toEqual(["Too many commands. Please wait 42 s."]);
    expect(texts[3]).toEqual([]);
    expect(sentTexts((await bot.deliver(textUpdate("/help", newSender()))).calls)).toHaveLength(1);
  });

  it("a /setapi over the limit is still deleted, and not run", async () => {
    const sender = newSender();
    bot.rateLimiter.counts.set(String(sender.id), bot.rateLimiter.limit + 5);
    bot.rateLimiter.notified.add(String(sender.id));
    const update = textUpdate(setapi(), sender, { messageId: 5150 });
    const { status, calls } = await bot.deliver(update);
    expect(status).toBe(200);
    expect(calls.map((call) => [call.method, call.params.message_id])).toEqual([["deleteMessage", 5150]]);
    expect(await bot.services.accounts.findByTelegramId(String(sender.id))).toBeNull();
  });

  it("group chatter does not count", async () => {
    const chat = { id: -1_001_555_000_000 - senderSeq, type: "supergroup" as const };
    for (let i = 0; i < 3; i += 1) await bot.deliver(groupUpdate("gm everyone", newSender(), { chat }));
    expect(bot.rateLimiter.counts.get(String(chat.id))).toBeUndefined();
  });
});

describe("/start and /help", () => {
  it("greets an unknown user with how to register", async () => {
    const [text] = sentTexts((await bot.deliver(textUpdate("/start", newSender()))).calls);
    expect(text).toContain("Hello, Minji!");
    expect(text).toContain("/setapi &lt;api key&gt;");
  });

  it("shows a known user their account", async () => {
    const sender = newSender();
    registered(sender, "518796558012178692");
    const [text] = sentTexts((await bot.deliver(textUpdate("/start", sender))).calls);
    expect(text).toContain("Welcome back, Minji!");
    expect(text).toContain("<code>518796558012178692</code>");
  });

  it("answers in Korean when the client says ko (or ko-KR)", async () => {
    const [start] = sentTexts((await bot.deliver(textUpdate("/start", newSender("ko", "민지")))).calls);
    const [help] = sentTexts((await bot.deliver(textUpdate("/help", newSender("ko-KR")))).calls);
    expect(start).toContain("안녕하세요, 민지님!");
    expect(help).toContain("<b>명령어</b>");
  });

  it("escapes what users typed (a name with markup) and sends valid HTML", async () => {
    let calls: { method: string; params: Record<string, unknown> }[] = [];
    const logs = await logsOf(async () => ({ calls } = await bot.deliver(textUpdate("/start", newSender("en", "<b>Eve</b> & co")))));
    expect(sentTexts(calls as never)[0]).toContain("Hello, &lt;b&gt;Eve&lt;/b&gt; &amp; co!");
    // The fake Bot API refuses invalid HTML (400): nothing failed.
    expect(logs.filter((entry) => entry.level === "error")).toEqual([]);
  });

  it("lists the commands, with the bot mentioned or not", async () => {
    for (const text of ["/help", "/help@botstate_bot", "/HELP@BotState_Bot"]) {
      const [reply] = sentTexts((await bot.deliver(textUpdate(text, newSender()))).calls);
      expect(reply).toContain("/setapi");
    }
  });
});

describe("groups answer only /help", () => {
  it("/help and /help@botstate_bot are answered, with the group note", async () => {
    for (const text of ["/help", "/help@botstate_bot"]) {
      const [reply] = sentTexts((await bot.deliver(groupUpdate(text, newSender()))).calls);
      expect(reply).toContain("In groups I answer /help only");
    }
  });

  it("other commands are refused, another bot's commands and chatter are left alone", async () => {
    expect(sentTexts((await bot.deliver(groupUpdate("/settings", newSender()))).calls)).toEqual(["This command works only in a private chat with me."]);
    expect(sentTexts((await bot.deliver(groupUpdate("/positions@botstate_bot", newSender()))).calls)).toEqual(["This command works only in a private chat with me."]);
    expect((await bot.deliver(groupUpdate("/help@other_bot", newSender()))).calls).toEqual([]);
    expect((await bot.deliver(groupUpdate("/frobnicate", newSender()))).calls).toEqual([]);
    expect((await bot.deliver(groupUpdate("hello", newSender()))).calls).toEqual([]);
  });
});

describe("unknown commands and chatter in a private chat", () => {
  it("an unknown command gets a short hint naming it (escaped)", async () => {
    expect(sentTexts((await bot.deliver(textUpdate("/frobnicate now", newSender()))).calls)).toEqual(["I don't know /frobnicate. Send /help for the list of commands."]);
  });

  it("text that is no command gets a hint; an edited command is not run again", async () => {
    expect(sentTexts((await bot.deliver(textUpdate("hi there", newSender()))).calls)).toEqual(["Send me a command; /help lists them."]);
    expect((await bot.deliver(editedUpdate("/help", newSender()))).calls).toEqual([]);
  });
});

describe("/setapi", () => {
  const methods = (calls: { method: string }[]) => calls.map((call) => call.method);

  it("deletes the message first, verifies the keys, registers, and shows only the key's last 4 characters", async () => {
    const sender = newSender();
    const update = textUpdate(setapi(), sender, { messageId: 4242 });
    const { status, calls } = await bot.deliver(update);
    expect(status).toBe(200);
    expect(methods(calls)).toEqual(["deleteMessage", "sendMessage"]);
    expect(calls[0]?.params).toEqual({ chat_id: sender.id, message_id: 4242 });
    const [reply] = sentTexts(calls);
    expect(reply).toContain("Registered: OKX API key <code>…9876</code>, account <code>518796558012178692</code>");
    const everything = JSON.stringify(calls);
    for (const secret of [KEYS.apiKey, KEYS.secretKey, KEYS.passphrase]) expect(everything).not.toContain(secret);
    expect(JSON.stringify(bot.logs)).not.toContain(KEYS.secretKey);
    expect(bot.services.registration.registered.at(-1)).toMatchObject({ telegramId: String(sender.id), okxUid: "518796558012178692", credentials: KEYS });
    expect(await bot.services.accounts.findByTelegramId(String(sender.id))).toMatchObject({ okxUid: "518796558012178692" });
  });

  it("says Updated when the user re-registers", async () => {
    const sender = newSender();
    await bot.deliver(textUpdate(setapi(), sender));
    expect(sentTexts((await bot.deliver(textUpdate(setapi(), sender))).calls)[0]).toContain("Updated: OKX API key");
  });

  it.each([
    ["an unknown key", { apiKey: "00000000-0000-4000-8000-000000000000" }, "OKX does not know this API key."],
    ["a wrong passphrase", { passphrase: "wrong-one" }, "The passphrase is wrong."],
    ["a wrong secret", { secretKey: "0".repeat(32) }, "The secret key is wrong"],
  ])("%s: deleted, a clear reply, nothing stored", async (_name, keys, expected) => {
    const sender = newSender();
    const { calls } = await bot.deliver(textUpdate(setapi(keys), sender));
    expect(methods(calls)).toEqual(["deleteMessage", "sendMessage"]);
    expect(sentTexts(calls)[0]).toContain(expected);
    expect(sentTexts(calls)[0]).toContain("Nothing was stored");
    expect(await bot.services.accounts.findByTelegramId(String(sender.id))).toBeNull();
  });

  it("keys of the wrong shape or count: deleted, the usage or the field, the exchange not called", async () => {
    const callsBefore = bot.services.exchange.calls;
    const short = await bot.deliver(textUpdate(`/setapi ${KEYS.apiKey} ${KEYS.secretKey}`, newSender()));
    expect(methods(short.calls)).toEqual(["deleteMessage", "sendMessage"]);
    expect(sentTexts(short.calls)[0]).toContain("Usage:");
    const bare = await bot.deliver(textUpdate("/setapi", newSender()));
    expect(methods(bare.calls)).toEqual(["deleteMessage", "sendMessage"]);
    const swapped = await bot.deliver(textUpdate(setapi({ secretKey: "not/a<secret>" }), newSender()));
    expect(sentTexts(swapped.calls)[0]).toContain("<code>secret key</code>: must be the secret key");
    expect(bot.services.exchange.calls).toBe(callsBefore);
  });

  it("the exchange unreachable: deleted, asked to send again, nothing stored", async () => {
    const sender = newSender();
    bot.services.exchange.outage = true;
    const { status, calls } = await bot.deliver(textUpdate(setapi(), sender));
    expect(status).toBe(200);
    expect(methods(calls)).toEqual(["deleteMessage", "sendMessage"]);
    expect(sentTexts(calls)[0]).toContain("OKX cannot be reached right now");
    expect(await bot.services.accounts.findByTelegramId(String(sender.id))).toBeNull();
  });

  it("an OKX account registered to another Telegram user: deleted, refused", async () => {
    expect(sentTexts((await bot.deliver(textUpdate(setapi(), newSender()))).calls)[0]).toContain("Registered");
    const { calls } = await bot.deliver(textUpdate(setapi(), newSender()));
    expect(methods(calls)).toEqual(["deleteMessage", "sendMessage"]);
    expect(sentTexts(calls)[0]).toContain("the OKX account belongs to another Telegram account");
  });

  it("in a group: deleted, with a warning to revoke the keys; never registered", async () => {
    const sender = newSender();
    const { calls } = await bot.deliver(groupUpdate(setapi(), sender));
    expect(methods(calls)).toEqual(["deleteMessage", "sendMessage"]);
    expect(sentTexts(calls)[0]).toContain("Never send API keys in a group");
    expect(await bot.services.accounts.findByTelegramId(String(sender.id))).toBeNull();
  });

  it("in an edited message: deleted, asked to send a new message", async () => {
    const { calls } = await bot.deliver(editedUpdate(setapi(), newSender()));
    expect(methods(calls)).toEqual(["deleteMessage", "sendMessage"]);
    expect(sentTexts(calls)[0]).toContain("edited messages");
  });

  it("a message the bot may not delete (400) still gets its answer; a throttled delete (429) is retried first", async () => {
    bot.telegram.fail({ method: "deleteMessage", errorCode: 400, description: "Bad Request: message can't be deleted" });
    const undeletable = await bot.deliver(textUpdate(setapi(), newSender()));
    expect(undeletable.status).toBe(200);
    expect(sentTexts(undeletable.calls)[0]).toContain("Registered");

    const sender = newSender();
    const update = textUpdate(setapi(), sender);
    bot.telegram.fail({ method: "deleteMessage", retryAfter: 30 });
    const throttled = await bot.deliver(update);
    expect(throttled.status).toBe(503);
    expect(methods(throttled.calls)).toEqual(["deleteMessage"]);
    expect(await bot.services.accounts.findByTelegramId(String(sender.id))).toBeNull();
    expect(methods((await bot.deliver(update)).calls)).toEqual(["deleteMessage", "sendMessage"]);
  });

  it("in Korean", async () => {
    const { calls } = await bot.deliver(textUpdate(setapi({ passphrase: "nope" }), newSender("ko")));
    expect(sentTexts(calls)[0]).toContain("패스프레이즈가 올바르지 않습니다.");
  });
});

describe("/settings and /set", () => {
  it("shows the three settings types; an unregistered user is told to register", async () => {
    const sender = newSender();
    expect(sentTexts((await bot.deliver(textUpdate("/settings", sender))).calls)[0]).toContain("You are not registered yet");
    registered(sender);
    const [text] = sentTexts((await bot.deliver(textUpdate("/settings", sender))).calls);
    expect(text).toContain("(preferences)");
    expect(text).toContain("<code>leverage</code> 10");
    expect(text).toContain("<code>direction</code> 롱숏");
    expect(text).toContain("(dual_side)");
  });

  it("/set changes one key through the settings validation", async () => {
    const sender = newSender();
    const userId = registered(sender);
    expect(sentTexts((await bot.deliver(textUpdate("/set params leverage 20", sender))).calls)).toEqual(["Changed: <code>params.leverage</code> = <code>20</code>"]);
    expect(bot.services.settings.byUser.get(userId)?.params.leverage).toBe(20);
    await bot.deliver(textUpdate("/set dual_side use_dual_side_entry true", sender));
    expect(bot.services.settings.byUser.get(userId)?.dual_side.use_dual_side_entry).toBe(true);
  });

  it("a value out of range: nothing changed, the reply names the field and the range", async () => {
    const sender = newSender();
    const userId = registered(sender);
    const [text] = sentTexts((await bot.deliver(textUpdate("/set params leverage 500", sender))).calls);
    expect(text).toBe("Not changed:\n• <code>params.leverage</code>: must be between 1 and 125");
    expect((await bot.services.settings.get(userId)).params?.values.leverage).toBe(10);
  });

  it("usage, unknown type, and user text escaped in the reply", async () => {
    const sender = newSender();
    registered(sender);
    expect(sentTexts((await bot.deliver(textUpdate("/set", sender))).calls)[0]).toContain("Usage: <code>/set");
    expect(sentTexts((await bot.deliver(textUpdate("/set <b>x</b> a b", sender))).calls)[0]).toBe(
      "Unknown settings type &lt;b&gt;x&lt;/b&gt;: use preferences, params or dual_side.",
    );
    const [invalid] = sentTexts((await bot.deliver(textUpdate("/set preferences symbol <i>btc</i>", sender))).calls);
    expect(invalid).toContain("<code>preferences.symbol</code>");
  });

  it("answers that settings are not available while that use case is missing", async () => {
    const partial = await startBotHarness({ services: { settings: null, positions: null, registration: null } });
    try {
      const sender = newSender();
      expect(sentTexts((await partial.deliver(textUpdate("/settings", sender))).calls)).toEqual(["This command is not available yet. Please try again later."]);
      expect(sentTexts((await partial.deliver(textUpdate("/positions", sender))).calls)).toEqual(["This command is not available yet. Please try again later."]);
      const setapiCalls = (await partial.deliver(textUpdate(setapi(), sender))).calls;
      expect(setapiCalls.map((call) => call.method)).toEqual(["deleteMessage", "sendMessage"]);
      expect(sentTexts(setapiCalls)).toEqual(["This command is not available yet. Please try again later."]);
    } finally {
      await partial.close();
    }
  });
});

describe("/positions and /status", () => {
  it("no open positions", async () => {
    const sender = newSender();
    registered(sender);
    expect(sentTexts((await bot.deliver(textUpdate("/positions", sender))).calls)).toEqual(["No open positions."]);
  });

  it("a long list is paged under 4096 characters, with buttons that turn the page", async () => {
    const sender = newSender();
    const userId = registered(sender);
    bot.services.positions.open.set(
      userId,
      Array.from({ length: 150 }, (_, i) => ({ symbol: `COIN${i}-USDT-SWAP`, side: i % 2 ? ("short" as const) : ("long" as const), size: "12.5", entryPrice: "63412.10", unrealizedPnl: "-1.25", leverage: "10" })),
    );
    const { calls } = await bot.deliver(textUpdate("/positions", sender));
    const [first] = calls;
    expect(first?.method).toBe("sendMessage");
    expect(String(first?.params.text).length).toBeLessThanOrEqual(4096);
    expect(String(first?.params.text)).toContain("Open positions: 150");
    const keyboard = (first?.params.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] }).inline_keyboard[0] ?? [];
    expect(keyboard.map((button) => button.callback_data)).toEqual(["positions:1", "positions:2"]);
    const pages = Number(keyboard[0]?.text.split("/")[1]);
    expect(pages).toBeGreaterThan(1);

    const turned = await bot.deliver(callbackUpdate("positions:2", 9001, sender));
    expect(turned.calls.map((call) => call.method)).toEqual(["editMessageText", "answerCallbackQuery"]);
    expect(turned.calls[0]?.params).toMatchObject({ message_id: 9001 });
    expect(String(turned.calls[0]?.params.text).length).toBeLessThanOrEqual(4096);
    expect(String(turned.calls[0]?.params.text)).not.toContain("COIN0-USDT-SWAP ");
  });

  it("a stale page button says the list changed; an unknown button is just answered", async () => {
    const sender = newSender();
    registered(sender);
    const stale = await bot.deliver(callbackUpdate("positions:7", 9002, sender));
    expect(stale.calls.map((call) => call.method)).toEqual(["editMessageText", "answerCallbackQuery"]);
    expect(String(stale.calls[0]?.params.text)).toBe("This list changed; send the command again.");
    expect((await bot.deliver(callbackUpdate("other:1", 9003, sender))).calls.map((call) => call.method)).toEqual(["answerCallbackQuery"]);
  });

  it("/status shows reconciliation and guard status, event text escaped, in Korean too", async () => {
    const sender = newSender();
    registered(sender);
    const [text] = sentTexts((await bot.deliver(textUpdate("/status", sender))).calls);
    expect(text).toContain("Syncs: 12, last 2026-11-29 08:30 UTC");
    expect(text).toContain("Guard: ⚠️ warning (drawdown 12.5 %)");
    expect(text).toContain("size &lt;differs&gt; &amp; fixed");
    const korean = newSender("ko");
    registered(korean);
    expect(sentTexts((await bot.deliver(textUpdate("/status", korean))).calls)[0]).toContain("가드: ⚠️ 경고 (낙폭 12.5%)");
  });
});

describe("update shapes", () => {
  it("a command with arguments on several lines and trailing spaces", async () => {
    const sender = newSender();
    const userId = registered(sender);
    await bot.deliver(textUpdate("/set   params\nleverage   7  ", sender));
    expect(bot.services.settings.byUser.get(userId)?.params.leverage).toBe(7);
  });
});
