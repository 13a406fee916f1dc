/** Who wrote to the bot, and where. Telegram ids travel as decimal strings (they exceed 2^31). */
export type ChatKind = "private" | "group" | "supergroup" | "channel";

export const locales = ["en", "ko"] as const;
export type Locale = (typeof locales)[number];

/** Korean for users whose Telegram client says `ko` (the original users), English otherwise. */
export function localeOf(languageCode: string | undefined): Locale {
  return languageCode?.toLowerCase().split("-")[0] === "ko" ? "ko" : "en";
}

/** A command as the bot received it: `/set@botstate_bot params leverage 10` is `set` with args `params leverage 10`. */
export interface CommandInput {
  readonly chatId: string;
  readonly chatKind: ChatKind;
  /** The sender's Telegram user id. */
  readonly telegramId: string;
  readonly firstName: string;
  readonly locale: Locale;
  readonly messageId: number;
  /** Lower case, without the slash and the bot mention. */
  readonly command: string;
  readonly args: string;
  /** The message was edited (commands in edits are not run). */
  readonly edited: boolean;
}

/** A Telegram user the platform knows: their app user and exchange account. */
export interface BotAccount {
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string | null;
}

/** The three kinds of user settings (system B). */
export const settingsTypes = ["preferences", "params", "dual_side"] as const;
export type SettingsType = (typeof settingsTypes)[number];

export interface SettingsDocument {
  readonly values: Readonly<Record<string, unknown>>;
  readonly version: number;
}

export type SettingsView = Readonly<Record<SettingsType, SettingsDocument | null>>;

export interface OpenPosition {
  readonly symbol: string;
  readonly side: "long" | "short";
  readonly size: string;
  readonly entryPrice: string | null;
  readonly unrealizedPnl: string | null;
  readonly leverage: string | null;
}

export type GuardLevel = "normal" | "warning" | "critical";

export interface StatusView {
  readonly reconciliation: {
    readonly totalSyncs: number;
    readonly openPositions: number;
    readonly divergences: number;
    readonly lastSyncAt: Date | null;
    readonly recentEvents: readonly { readonly at: Date; readonly message: string }[];
  };
  readonly guard: { readonly level: GuardLevel; readonly drawdownPercent: number | null };
}

/** The outcome of one update, for the webhook's answer and the logs. */
export type UpdateOutcome = "handled" | "duplicate" | "ignored" | "rate_limited";
