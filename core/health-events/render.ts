import { createHash } from "node:crypto";
import type { HealthEvent, HealthLevel } from "./model";

/** Bot API limit on a message's text. */
export const TELEGRAM_TEXT_LIMIT = 4096;
const ELLIPSIS = "…";

const ICONS: Readonly<Record<HealthLevel, string>> = { INFO: "ℹ️", WARNING: "⚠️", ERROR: "❗", SWITCH: "🔀", CRITICAL: "🚨" };

/** The three characters parse mode HTML requires escaped; everything else is literal. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (char) => (char === "&" ? "&amp;" : char === "<" ? "&lt;" : "&gt;"));
}

/**
 * `text` escaped, at most `limit` characters (UTF-16 units, as Telegram counts): cut between code
 * points, never inside an entity, with an ellipsis when something was cut.
 */
export function escapeWithin(text: string, limit: number): string {
  const escaped = escapeHtml(text);
  if (escaped.length <= limit) return escaped;
  let out = "";
  for (const char of text) {
    const piece = escapeHtml(char);
    if (out.length + piece.length > limit - ELLIPSIS.length) break;
    out += piece;
  }
  return out + ELLIPSIS;
}

export interface AlertLabel {
  readonly service: string;
  readonly stage: string;
}

/** The admin-chat message of an event: a bold header, then the message and its metadata, all escaped. */
export function renderAlert(event: HealthEvent, label: AlertLabel): string {
  const header = `${ICONS[event.level]} <b>${event.level}</b> · ${escapeHtml(label.service)} ${escapeHtml(label.stage)}\n`;
  const details = Object.entries(event.metadata).map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  const body = [event.message, ...(details.length > 0 ? ["", ...details] : []), "", event.createdAt.toISOString()].join("\n");
  return header + escapeWithin(body, TELEGRAM_TEXT_LIMIT - header.length);
}

/** Identical events (same level and message) share a key, whatever their metadata. */
export function alertDedupKey(level: HealthLevel, message: string): string {
  return createHash("sha256").update(`${level}\n${message}`).digest("hex");
}
