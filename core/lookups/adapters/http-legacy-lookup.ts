import CircuitBreaker from "opossum";
import * as z from "zod/mini";
import type { Identifier } from "../identifier";
import type { LegacyAnswer } from "../model";
import { LegacyBreakerOpenError } from "../ports";
import type { LegacyLookup } from "../ports";
import { breakerStateOf, isBreakerOpen } from "../../resilience/breaker";

export interface LegacyLookupOptions {
  /** Base URL; the service answers GET {baseUrl}/{identifier}. Unset = tier disabled. */
  readonly baseUrl?: string | undefined;
  /** Breaker: failures (of at least `volumeThreshold` calls) that open it, and how long it stays open. */
  readonly errorThresholdPercentage?: number;
  readonly volumeThreshold?: number;
  readonly resetTimeoutMs?: number;
}

const answerSchema = z.object({
  telegram_id: z.union([z.int().check(z.positive()), z.string().check(z.regex(/^[1-9][0-9]{0,15}$/))]),
  user_id: z.nullish(z.string()),
  okx_uid: z.nullish(z.string().check(z.regex(/^[0-9]{12,20}$/))),
});

/**
 * The old lookup service, called over HTTP with a per-call deadline and guarded by a circuit
 * breaker (opossum): once it is open, a dead service costs nothing until the reset timeout lets a
 * trial call through.
 */
export class HttpLegacyLookup implements LegacyLookup {
  readonly enabled: boolean;
  private readonly breaker: CircuitBreaker<[Identifier, number], LegacyAnswer | null>;

  constructor(
    private readonly options: LegacyLookupOptions,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.enabled = Boolean(options.baseUrl);
    this.breaker = new CircuitBreaker((identifier: Identifier, deadlineMs: number) => this.call(identifier, deadlineMs), {
      // Each call carries its own deadline (AbortSignal), derived from the Lambda's remaining time.
      timeout: false,
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      volumeThreshold: options.volumeThreshold ?? 3,
      resetTimeout: options.resetTimeoutMs ?? 10_000,
    });
  }

  private async call(identifier: Identifier, deadlineMs: number): Promise<LegacyAnswer | null> {
    const url = `${this.options.baseUrl?.replace(/\/$/, "")}/${encodeURIComponent(identifier.value)}`;
    const response = await this.fetchImpl(url, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(Math.max(1, deadlineMs)),
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`legacy lookup answered ${response.status}`);
    }
    const parsed = answerSchema.safeParse(await response.json());
    if (!parsed.success) throw new Error("legacy lookup answered an unexpected body");
    return {
      telegramId: String(parsed.data.telegram_id),
      userId: parsed.data.user_id ?? null,
      okxUid: parsed.data.okx_uid ?? null,
    };
  }

  async lookup(identifier: Identifier, deadlineMs: number): Promise<LegacyAnswer | null> {
    if (!this.enabled) return null;
    try {
      return await this.breaker.fire(identifier, deadlineMs);
    } catch (error) {
      if (isBreakerOpen(error)) throw new LegacyBreakerOpenError("legacy breaker open", { cause: error });
      throw error;
    }
  }

  breakerState(): "closed" | "open" | "half-open" | "disabled" {
    if (!this.enabled) return "disabled";
    return breakerStateOf(this.breaker);
  }

  /** Stops the breaker's rolling-window timer (tests, scripts). */
  shutdown(): void {
    this.breaker.shutdown();
  }
}
