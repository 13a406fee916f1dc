import { describe, expect, it } from "vitest";
import { parseTelegramHtml } from "../../local/fake-telegram-html";
import { escapeHtml, MESSAGE_LIMIT, paginate } from "../../core/telegram/html";
import { catalogue } from "../../core/telegram/messages";
import { localeOf } from "../../core/telegram/model";
import { chatValue } from "../../core/telegram/commands/settings";
import { parseCommand } from "../../runtime/telegram/bot";
import { credentialProblems } from "../../core/exchange/model";

describe("escapeHtml", () => {
  it("escapes what Telegram HTML reserves, and the result parses back to the input", () => {
    const input = `<script>alert("x")</script> & "quotes" 'single' 롱숏`;
    const escaped = escapeHtml(input);
    expect(escaped).toBe("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot; 'single' 롱숏");
    expect(parseTelegramHtml(escaped)).toEqual({ ok: true, plain: input });
  });
});

describe("paginate", () => {
  it("keeps each page within the limit, breaking between lines, losing none", () => {
    const lines = Array.from({ length: 500 }, (_, i) => `<b>COIN${i}</b> long 1.5 @ 100.0 · PnL ${i % 7 ? "+" : "-"}${i}`);
    const pages = paginate(lines);
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) {
      expect(page.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      expect(parseTelegramHtml(page).ok).toBe(true);
    }
    expect(pages.join("\n").split("\n")).toEqual(lines);
  });

  it("cuts a line longer than a page into pieces of escaped plain text", () => {
    const long = `<b>${escapeHtml("<&>".repeat(3000))}</b>`;
    const pages = paginate(["head", long, "tail"], 1000);
    for (const page of pages) {
      expect(page.length).toBeLessThanOrEqual(1000);
      expect(parseTelegramHtml(page).ok).toBe(true);
    }
    // Nothing lost but the formatting and the line breaks between pieces.
    const shown = pages.map((page) => (parseTelegramHtml(page) as { plain: string }).plain).join("").replaceAll("\n", "");
    expect(shown).toBe(`head${"<&>".repeat(3000)}tail`);
  });

  it("one short list is one page", () => {
    expect(paginate(["a", "b"])).toEqual(["a\nb"]);
  });
});

describe("parseCommand", () => {
  it.each([
    ["/help", { command: "help", args: "" }],
    ["/help@botstate_bot", { command: "help", args: "" }],
    ["/HELP@BOTSTATE_BOT", { command: "help", args: "" }],
    ["/set params leverage 10", { command: "set", args: "params leverage 10" }],
    ["/set@botstate_bot  params\nleverage 10 ", { command: "set", args: "params\nleverage 10" }],
  ])("%s", (text, expected) => {
    expect(parseCommand(text, "botstate_bot")).toEqual(expected);
  });

  it("is null for another bot's command and for text", () => {
    expect(parseCommand("/help@other_bot", "botstate_bot")).toBeNull();
    expect(parseCommand("help me", "botstate_bot")).toBeNull();
    expect(parseCommand("/", "botstate_bot")).toBeNull();
  });
});

describe("chat values", () => {
  it("reads JSON where it is JSON and text otherwise", () => {
    expect(chatValue("10")).toBe(10);
    expect(chatValue("2.5")).toBe(2.5);
    expect(chatValue("true")).toBe(true);
    expect(chatValue('"10"')).toBe("10");
    expect(chatValue("BTC-USDT-SWAP")).toBe("BTC-USDT-SWAP");
    expect(chatValue("롱숏")).toBe("롱숏");
  });
});

describe("the message catalogue", () => {
  it("picks Korean for ko and ko-KR, English otherwise", () => {
    expect(localeOf("ko")).toBe("ko");
    expect(localeOf("ko-KR")).toBe("ko");
    expect(localeOf("en-US")).toBe("en");
    expect(localeOf(undefined)).toBe("en");
  });

  it("has every text in both languages, each valid Telegram HTML, with user values escaped", () => {
    for (const locale of ["en", "ko"] as const) {
      const text = catalogue(locale);
      const samples = [
        text.greetingUnknown("<Eve>"),
        text.greetingKnown("A&B", "518796558012178692"),
        text.help(true),
        text.help(false),
        text.unknownCommand("/<x>"),
        text.setapiUsage,
        text.setapiBadShape([{ field: "apiKey", message: "must be <this>" }]),
        ...credentialProblems.map((problem) => text.setapiRejected(problem)),
        text.setapiDone("…9876", "518796558012178692", true),
        text.setInvalid([{ field: "params.leverage", message: "must be between 1 and 125" }]),
        text.setDone("params", "direction", "<롱숏>"),
        text.position({ symbol: "<BTC>", side: "long", size: "1", entryPrice: null, unrealizedPnl: "-3", leverage: "10" }),
        ...text.status({ reconciliation: { totalSyncs: 1, openPositions: 0, divergences: 0, lastSyncAt: null, recentEvents: [] }, guard: { level: "critical", drawdownPercent: 16.2 } }),
        text.errorReply("unprocessable", "body.x: <bad>"),
      ];
      for (const sample of samples) expect(parseTelegramHtml(sample), sample).toMatchObject({ ok: true });
    }
    expect(catalogue("ko").greetingUnknown("민지")).toContain("안녕하세요");
    expect(catalogue("en").greetingUnknown("<Eve>")).toContain("&lt;Eve&gt;");
  });
});
