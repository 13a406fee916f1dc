import { randomUUID } from "node:crypto";
import { z } from "zod";
import { ConflictError, UnavailableError, UnprocessableError } from "../../../core/errors";
import type { ExchangeAccount, ExchangeCredentials } from "../../../core/exchange/model";
import { CredentialsRejectedError } from "../../../core/exchange/ports";
import type { ExchangeAccounts } from "../../../core/exchange/ports";
import type { BotAccount, OpenPosition, SettingsType, SettingsView, StatusView } from "../../../core/telegram/model";
import type {
  BotAccounts,
  BotPositions,
  BotRegistration,
  BotServices,
  BotSettings,
  ChatRateLimiter,
  ClaimResult,
  DurableUpdateMarks,
  RateDecision,
  RegistrationInput,
  UpdateClaim,
} from "../../../core/telegram/ports";

/** Update marks in a Map, with a switch that makes every call fail like a store that is down. */
export class MemoryUpdateMarks implements DurableUpdateMarks {
  readonly marks = new Map<number, { state: "processing" | "done"; token: string | null; until: number }>();
  down = false;
  calls = 0;
  constructor(private readonly store: UpdateClaim["store"]) {}

  private check(): void {
    this.calls += 1;
    if (this.down) throw new UnavailableError("store down");
  }

  async claim(updateId: number, token: string, leaseMs: number): Promise<ClaimResult> {
    this.check();
    const mark = this.marks.get(updateId);
    if (mark && mark.until > Date.now()) return { kind: mark.state === "done" ? "done" : "busy" };
    this.marks.set(updateId, { state: "processing", token, until: Date.now() + leaseMs });
    return { kind: "claimed", claim: { updateId, token, store: this.store } };
  }

  async complete(claim: UpdateClaim, ttlSeconds: number): Promise<void> {
    this.check();
    this.marks.set(claim.updateId, { state: "done", token: null, until: Date.now() + ttlSeconds * 1000 });
  }

  async release(claim: UpdateClaim): Promise<void> {
    this.check();
    if (this.marks.get(claim.updateId)?.token === claim.token) this.marks.delete(claim.updateId);
  }

  async peek(updateId: number): Promise<"done" | "busy" | null> {
    this.check();
    const mark = this.marks.get(updateId);
    if (!mark || mark.until <= Date.now()) return null;
    return mark.state === "done" ? "done" : "busy";
  }
}

/** A fixed number of commands per chat; the first refusal notifies, the rest are silent. */
export class MemoryRateLimiter implements ChatRateLimiter {
  readonly counts = new Map<string, number>();
  readonly notified = new Set<string>();
  constructor(public limit = 1_000) {}

  async check(chatId: string): Promise<RateDecision> {
    const count = (this.counts.get(chatId) ?? 0) + 1;
    this.counts.set(chatId, count);
    if (count <= this.limit) return { allowed: true };
    const notify = !this.notified.has(chatId);
    this.notified.add(chatId);
    return { allowed: false, notify, retryAfterSeconds: 42 };
  }
}

export class MemoryAccounts implements BotAccounts {
  readonly byTelegramId = new Map<string, BotAccount>();
  async findByTelegramId(telegramId: string): Promise<BotAccount | null> {
    return this.byTelegramId.get(telegramId) ?? null;
  }
}

/** Accepts the keys it was told about; `outage` makes it unreachable. */
export class MemoryExchange implements ExchangeAccounts {
  readonly accounts = new Map<string, ExchangeCredentials & { uid: string }>();
  outage = false;
  calls = 0;

  async verify(credentials: ExchangeCredentials): Promise<ExchangeAccount> {
    this.calls += 1;
    if (this.outage) throw new UnavailableError("exchange down");
    const known = this.accounts.get(credentials.apiKey);
    if (!known) throw new CredentialsRejectedError("unknown_key", "50111 Invalid OK-ACCESS-KEY");
    if (known.passphrase !== credentials.passphrase) throw new CredentialsRejectedError("wrong_passphrase", "50105");
    if (known.secretKey !== credentials.secretKey) throw new CredentialsRejectedError("wrong_secret", "50113 Invalid Sign");
    return { uid: known.uid, mainUid: known.uid, permissions: ["read_only", "trade"], label: null };
  }
}

/** Registers into MemoryAccounts, like the real use case writes the mapping; failures on demand. */
export class MemoryRegistration implements BotRegistration {
  readonly registered: RegistrationInput[] = [];
  failWith: Error | null = null;
  constructor(private readonly accounts: MemoryAccounts) {}

  async register(input: RegistrationInput): Promise<{ userId: string; created: boolean }> {
    if (this.failWith) throw this.failWith;
    const owner = [...this.accounts.byTelegramId.values()].find((account) => account.okxUid === input.okxUid);
    if (owner && owner.telegramId !== input.telegramId) throw new ConflictError("okxUid is already mapped to another user");
    const existing = this.accounts.byTelegramId.get(input.telegramId);
    const userId = existing?.userId ?? randomUUID();
    this.accounts.byTelegramId.set(input.telegramId, { userId, telegramId: input.telegramId, okxUid: input.okxUid });
    this.registered.push(input);
    return { userId, created: !existing };
  }
}

/** A slice of the settings rules, validated with zod like the API (UnprocessableError naming `body.<key>`). */
const rules: Readonly<Record<SettingsType, z.ZodObject>> = {
  preferences: z.strictObject({ timeframe: z.enum(["1m", "5m", "15m", "1h", "4h"]), symbol: z.string().regex(/^[A-Z]+-[A-Z]+(-SWAP)?$/) }).partial(),
  params: z.strictObject({ leverage: z.number().int().min(1, "must be between 1 and 125").max(125, "must be between 1 and 125"), direction: z.enum(["롱숏", "롱", "숏"]) }).partial(),
  dual_side: z.strictObject({ use_dual_side_entry: z.boolean() }).partial(),
};

export class MemorySettings implements BotSettings {
  readonly byUser = new Map<string, Record<SettingsType, Record<string, unknown>>>();

  private of(userId: string) {
    let settings = this.byUser.get(userId);
    if (!settings) {
      settings = { preferences: { timeframe: "1m", symbol: "BTC-USDT-SWAP" }, params: { leverage: 10, direction: "롱숏" }, dual_side: { use_dual_side_entry: false } };
      this.byUser.set(userId, settings);
    }
    return settings;
  }

  async get(userId: string): Promise<SettingsView> {
    const settings = this.of(userId);
    return { preferences: { values: settings.preferences, version: 1 }, params: { values: settings.params, version: 1 }, dual_side: { values: settings.dual_side, version: 1 } };
  }

  async set(userId: string, type: SettingsType, key: string, value: unknown): Promise<SettingsView> {
    const parsed = rules[type].safeParse({ [key]: value });
    if (!parsed.success) {
      throw new UnprocessableError(parsed.error.issues.map((issue) => ({ field: ["body", ...(issue.path.length ? issue.path : issue.code === "unrecognized_keys" ? [key] : [])].join("."), message: issue.message })));
    }
    this.of(userId)[type][key] = value;
    return this.get(userId);
  }
}

export class MemoryPositions implements BotPositions {
  readonly open = new Map<string, OpenPosition[]>();
  status_: StatusView = {
    reconciliation: { totalSyncs: 12, openPositions: 2, divergences: 1, lastSyncAt: new Date("2026-11-29T08:30:00Z"), recentEvents: [{ at: new Date("2026-11-29T08:30:00Z"), message: "size <differs> & fixed" }] },
    guard: { level: "warning", drawdownPercent: 12.5 },
  };

  async listOpen(userId: string): Promise<readonly OpenPosition[]> {
    return this.open.get(userId) ?? [];
  }

  async status(): Promise<StatusView> {
    return this.status_;
  }
}

export interface MemoryServices extends BotServices {
  readonly accounts: MemoryAccounts;
  readonly exchange: MemoryExchange;
  readonly registration: MemoryRegistration;
  readonly settings: MemorySettings;
  readonly positions: MemoryPositions;
}

export function memoryServices(): MemoryServices {
  const accounts = new MemoryAccounts();
  return { accounts, exchange: new MemoryExchange(), registration: new MemoryRegistration(accounts), settings: new MemorySettings(), positions: new MemoryPositions() };
}
