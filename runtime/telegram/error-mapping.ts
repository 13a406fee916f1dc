import { AppError } from "../../core/errors";
import type { ErrorCode } from "../../core/errors";

/**
 * What the Telegram webhook does when handling an update threw:
 * - `reply`: the user can act on it (bad input, not registered, rate limited): answer in the chat
 *   with the message of that code, and acknowledge the update;
 * - `retry`: a dependency is down: answer the webhook with a 5xx so Telegram redelivers the update;
 * - `acknowledge`: a bug or something the user cannot fix: log it and acknowledge (200), so Telegram
 *   does not redeliver it forever.
 */
export type TelegramDisposition =
  | { readonly kind: "reply"; readonly code: ErrorCode; readonly message: string }
  | { readonly kind: "retry" }
  | { readonly kind: "acknowledge" };

export function telegramDispositionOf(error: unknown): TelegramDisposition {
  if (!(error instanceof AppError)) return { kind: "acknowledge" };
  switch (error.code) {
    case "unavailable":
      return { kind: "retry" };
    case "config":
    case "unauthorized":
      return { kind: "acknowledge" };
    default:
      return { kind: "reply", code: error.code, message: error.message };
  }
}
