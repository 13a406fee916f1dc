import type { ExchangeCredentials } from "../exchange/model";
import type { ExchangeAccounts } from "../exchange/ports";
import type { BotAccount, OpenPosition, SettingsType, SettingsView, StatusView } from "./model";

// ---- what the webhook needs to run each update once ----

/** A held claim on one update: the store that holds it and a token only this holder knows. */
export interface UpdateClaim {
  readonly updateId: number;
  readonly token: string;
  readonly store: "redis" | "postgres";
}

export type ClaimResult =
  | { readonly kind: "claimed"; readonly claim: UpdateClaim }
  /** Handled before: acknowledge, do nothing. */
  | { readonly kind: "done" }
  /** Another container is handling it right now (its lease is live): ask Telegram to come back. */
  | { readonly kind: "busy" };

/** Marks of handled updates, one store (Redis or Postgres). */
export interface UpdateMarks {
  /** Takes the update for `leaseMs` unless it is done or held by a live lease. */
  claim(updateId: number, token: string, leaseMs: number): Promise<ClaimResult>;
  /** Records the update as handled (kept `ttlSeconds`), whoever holds it now. */
  complete(claim: UpdateClaim, ttlSeconds: number): Promise<void>;
  /** Gives the update back (only if still held with this token), so a redelivery runs it again. */
  release(claim: UpdateClaim): Promise<void>;
}

/** The fallback store can also say what it knows of an update without taking it. */
export interface DurableUpdateMarks extends UpdateMarks {
  peek(updateId: number): Promise<"done" | "busy" | null>;
}

/** Each update handled once across containers, whatever store is up. */
export interface UpdateLedger {
  claim(updateId: number): Promise<ClaimResult>;
  complete(claim: UpdateClaim): Promise<void>;
  release(claim: UpdateClaim): Promise<void>;
}

export type RateDecision =
  | { readonly allowed: true }
  /** Over the limit: `notify` is true for the first refusal of the window only (one short reply, then silence). */
  | { readonly allowed: false; readonly notify: boolean; readonly retryAfterSeconds: number };

/** Commands per chat and window. */
export interface ChatRateLimiter {
  check(chatId: string): Promise<RateDecision>;
}

// ---- how a command answers ----

export interface InlineButton {
  readonly text: string;
  /** Sent back in the callback query when pressed (at most 64 bytes). */
  readonly data: string;
}

export interface OutgoingMessage {
  /** Telegram HTML, within the message limit (see html.ts). */
  readonly html: string;
  readonly buttons?: readonly (readonly InlineButton[])[];
}

/** The chat an update came from, as a command sees it. */
export interface ChatReplies {
  send(message: OutgoingMessage): Promise<void>;
  /** Replaces the message whose button was pressed (pagination). */
  edit(message: OutgoingMessage): Promise<void>;
  /** Deletes a message of this chat; one that is already gone counts as deleted. */
  deleteMessage(messageId: number): Promise<void>;
}

// ---- what the commands use: the same use cases as the HTTP API ----

/** Who a Telegram user is on the platform (the identifier mappings). */
export interface BotAccounts {
  findByTelegramId(telegramId: string): Promise<BotAccount | null>;
}

export interface RegistrationInput {
  readonly telegramId: string;
  readonly okxUid: string;
  readonly credentials: ExchangeCredentials;
}

/** The registration use case (settings): user, mapping, encrypted credentials, default settings, in one transaction. */
export interface BotRegistration {
  register(input: RegistrationInput): Promise<{ readonly userId: string; readonly created: boolean }>;
}

export interface BotSettings {
  get(userId: string): Promise<SettingsView>;
  /** One key of one type, through the same validation as the API (UnprocessableError naming the field and range). */
  set(userId: string, type: SettingsType, key: string, value: unknown): Promise<SettingsView>;
}

export interface BotPositions {
  listOpen(userId: string): Promise<readonly OpenPosition[]>;
  status(userId: string): Promise<StatusView>;
}

/**
 * Everything the commands call. A use case that has not landed yet is null: its commands answer
 * that they are not available, and the rest of the bot works.
 */
export interface BotServices {
  readonly accounts: BotAccounts;
  readonly exchange: ExchangeAccounts;
  readonly registration: BotRegistration | null;
  readonly settings: BotSettings | null;
  readonly positions: BotPositions | null;
}
