import { CircuitBreaker } from "../../resilience/circuit-breaker";
import pLimit from "p-limit";
import type { LimitFunction } from "p-limit";
import * as z from "zod/mini";
import type { Identifier } from "../identifier";
import type { LegacyAnswer } from "../model";
import { LegacyBreakerOpenError, LegacyBusyError } from "../ports";
import type { LegacyLookup } from "../ports";
import { breakerStateOf, isBreakerOpen } from "../../resilience/breaker";
import { lazy } from "../../validation/lazy";

export interface LegacyLookupOptions {
  /** Base URL; the service answers GET {baseUrl}/{identifier}. Unset = tier disabled. */
  readonly baseUrl?: string | undefined;
  /** Breaker: failures (of at least `volumeThreshold` calls) that open it, and how long it stays open. */
  readonly errorThresholdPercentage?: number;
  readonly volumeThreshold?: number;
  readonly resetTimeoutMs?: number;
  /** Calls in flight at once (this container); the others wait, within their own deadline, for a slot. */
  readonly maxInFlight?: number;
  /** A reply body longer than this is aborted as it arrives. */
  readonly maxBodyBytes?: number;
}

export const defaultLegacyMaxInFlight = 8;
export const defaultLegacyMaxBodyBytes = 16 * 1024;

/**
 * The wire shape only; whether the values make sense (a Telegram id within 52 bits, the identifier
 * that was asked) is the lookup service's call, so a wrong answer is a conflict there, not an
 * error that trips the breaker. A number beyond 2^53 cannot be read exactly and is refused here.
 */
const answerSchema = /* @__PURE__ */ lazy(() => z.object({
  telegram_id: z.union([z.number(), z.string().check(z.regex(/^-?[0-9]{1,20}$/))]),
  user_id: z.nullish(z.string()),
  okx_uid: z.nullish(z.string().check(z.regex(/^[0-9]{1,24}$/))),
}));

export class LegacyReplyTooLargeError extends Error {}

/**
 * The old lookup service, called over HTTP with a per-call deadline and guarded by a circuit
 * breaker (core/resilience/circuit-breaker.ts): once it is open, a dead service costs nothing until the reset timeout lets a
 * trial call through. At most `maxInFlight` calls run at once (p-limit), and a reply body is read
 * with a byte cap, so a misbehaving service can neither fan out a batch into hundreds of sockets
 * nor fill the container's memory.
 */
/** Less time than this left when a slot frees up: the call could not answer in time, so none is made. */
const MIN_USEFUL_CALL_MS = 50;

export class HttpLegacyLookup implements LegacyLookup {
  readonly enabled: boolean;
  private readonly breaker: CircuitBreaker;
  private readonly slots: LimitFunction;
  private readonly maxBodyBytes: number;

  constructor(
    private readonly options: LegacyLookupOptions,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.enabled = Boolean(options.baseUrl);
    this.slots = pLimit(options.maxInFlight ?? defaultLegacyMaxInFlight);
    this.maxBodyBytes = options.maxBodyBytes ?? defaultLegacyMaxBodyBytes;
    this.breaker = new CircuitBreaker({
      // Each call carries its own deadline (AbortSignal), derived from the Lambda's remaining time.
      timeoutMs: false,
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      volumeThreshold: options.volumeThreshold ?? 3,
      resetTimeoutMs: options.resetTimeoutMs ?? 10_000,
    });
  }

  private async call(identifier: Identifier, deadlineMs: number): Promise<LegacyAnswer | null> {
    const url = `${this.options.baseUrl?.replace(/\/$/, "")}/${encodeURIComponent(identifier.value)}`;
    const signal = AbortSignal.timeout(Math.max(1, deadlineMs));
    const response = await this.fetchImpl(url, { headers: { accept: "application/json" }, signal });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`legacy lookup answered ${response.status}`);
    }
    const parsed = answerSchema().safeParse(parseJson(await readCapped(response, this.maxBodyBytes)));
    if (!parsed.success) throw new Error("legacy lookup answered an unexpected body");
    const telegramId = parsed.data.telegram_id;
    if (typeof telegramId === "number" && !Number.isSafeInteger(telegramId)) throw new Error("legacy lookup answered an inexact telegram_id");
    return { telegramId: String(telegramId), userId: parsed.data.user_id ?? null, okxUid: parsed.data.okx_uid ?? null };
  }

  async lookup(identifier: Identifier, deadlineMs: number): Promise<LegacyAnswer | null> {
    if (!this.enabled) return null;
    // An open breaker answers at once, without queueing behind calls in flight.
    if (this.breaker.opened) throw new LegacyBreakerOpenError("legacy breaker open");
    const queuedAt = Date.now();
    let state: "queued" | "started" | "expired" = "queued";
    let timer: ReturnType<typeof setTimeout> | undefined;
    let giveUp = (): void => undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      giveUp = () => {
        if (state !== "queued") return;
        state = "expired";
        reject(new LegacyBusyError(`no free legacy call slot within ${deadlineMs} ms`));
      };
      timer = setTimeout(giveUp, Math.max(1, deadlineMs));
    });
    const run = this.slots(async () => {
      // A slot that comes too late to make a useful call (its timer may not have fired yet on a
      // busy event loop) is passed on at once: no call is made.
      const remainingMs = deadlineMs - (Date.now() - queuedAt);
      if (remainingMs < MIN_USEFUL_CALL_MS) giveUp();
      if (state === "expired") return null;
      state = "started";
      clearTimeout(timer);
      return this.fire(identifier, remainingMs);
    });
    try {
      return await Promise.race([run, gaveUp]);
    } finally {
      clearTimeout(timer);
      run.catch(() => undefined);
    }
  }

  private async fire(identifier: Identifier, deadlineMs: number): Promise<LegacyAnswer | null> {
    try {
      return await this.breaker.fire(() => this.call(identifier, Math.max(1, deadlineMs)));
    } catch (error) {
      if (isBreakerOpen(error)) throw new LegacyBreakerOpenError("legacy breaker open", { cause: error });
      throw error;
    }
  }

  /** Calls running and waiting for a slot (tests, diagnostics). */
  load(): { readonly active: number; readonly pending: number } {
    return { active: this.slots.activeCount, pending: this.slots.pendingCount };
  }

  breakerState(): "closed" | "open" | "half-open" | "disabled" {
    if (!this.enabled) return "disabled";
    return breakerStateOf(this.breaker);
  }

  /** Nothing to stop (the breaker keeps no timer); kept for tests and scripts that clean up. */
  shutdown(): void {}
}

/** The body as text, aborting the read (and the connection) once it passes `maxBytes`. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new LegacyReplyTooLargeError(`legacy reply of ${declared} bytes is over the ${maxBytes}-byte limit`);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel();
      throw new LegacyReplyTooLargeError(`legacy reply is over the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
