import { describe, expect, it } from "vitest";
import { TELEGRAM_TEXT_LIMIT, alertDedupKey, escapeHtml, escapeWithin, renderAlert } from "../../core/health-events/render";
import { redactMetadata } from "../../core/health-events/record-health-event";

const event = (message: string, metadata: Record<string, unknown> = {}) => ({
  id: "e1",
  level: "CRITICAL" as const,
  message,
  metadata,
  createdAt: new Date("2026-01-01T00:00:00Z"),
});

describe("alert text", () => {
  it("escapes exactly what parse mode HTML needs", () => {
    expect(escapeHtml(`a < b && c > "d" 'e'`)).toBe(`a &lt; b &amp;&amp; c &gt; "d" 'e'`);
    const text = renderAlert(event("queue <down> & out", { reason: "<script>" }), { service: "botstate", stage: "prod" });
    expect(text.startsWith("🚨 <b>CRITICAL</b> · botstate prod\n")).toBe(true);
    expect(text).toContain("queue &lt;down&gt; &amp; out");
    expect(text).toContain("reason: &lt;script&gt;");
    expect(text).not.toContain("<script>");
  });

  it("cuts to 4096 characters with an ellipsis, never inside an entity or a surrogate pair", () => {
    const long = renderAlert(event("&".repeat(5_000)), { service: "botstate", stage: "prod" });
    expect(long.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(long.endsWith("&amp;…")).toBe(true);
    const emoji = escapeWithin("😀".repeat(10), 7);
    expect(emoji).toBe("😀😀😀…");
    expect(escapeWithin("short", 100)).toBe("short");
  });

  it("dedups on level and message, not metadata", () => {
    expect(alertDedupKey("CRITICAL", "x")).toBe(alertDedupKey("CRITICAL", "x"));
    expect(alertDedupKey("CRITICAL", "x")).not.toBe(alertDedupKey("SWITCH", "x"));
  });

  it("redacts secrets at any depth and reduces errors to their message", () => {
    expect(redactMetadata({ apiKey: "k", nested: { passphrase: "p", ok: 1 }, error: new Error("boom"), when: new Date(0) })).toEqual({
      apiKey: "[redacted]",
      nested: { passphrase: "[redacted]", ok: 1 },
      error: "boom",
      when: "1970-01-01T00:00:00.000Z",
    });
  });
});
