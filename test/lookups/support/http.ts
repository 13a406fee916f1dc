import { randomInt } from "node:crypto";
import { issueAccessToken } from "../../../core/auth/tokens";
import type { Role } from "../../../core/auth/tokens";
import type { LookupStatsSnapshot } from "../../../core/lookups/stats";
import { TEST_JWT_SECRET } from "../../support/cloud";

/** Telegram ids above 2^31 (BIGINT), 18-digit OKX UIDs. */
export const telegramId = () => String(7_000_000_000 + randomInt(1, 999_999_999));
export const okxUid = () => `5187965580${randomInt(10_000_000, 100_000_000)}`;

export function token(role: Role, subject = "ops@botstate"): Promise<string> {
  return issueAccessToken({ secret: TEST_JWT_SECRET, issuer: "botstate" }, { role, subject, ttlSeconds: 600 }, new Date());
}

export interface LookupBody {
  readonly identifier: string;
  readonly kind: string;
  readonly telegramId: string;
  readonly userId: string | null;
  readonly okxUid: string | null;
  readonly source: string;
}

export interface MappingBody {
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string | null;
  readonly isActive: boolean;
  readonly source: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly fields?: readonly { readonly field: string; readonly message: string }[];
    readonly outcome?: "not_applied" | "unknown";
  };
}

export type BatchResult = { readonly identifier: string; readonly kind: string; readonly found: false; readonly reason: string } | (LookupBody & { readonly found: true });

export interface StatsBody {
  readonly window: { readonly from: string; readonly to: string; readonly minutes: number };
  readonly containers: number;
  readonly lookups: LookupStatsSnapshot;
  readonly breakers: { readonly legacy: string; readonly cache: string };
  readonly breakerContainers: { readonly legacy: Record<string, number>; readonly cache: Record<string, number> };
}

export interface ApiResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
  readonly elapsedMs: number;
}

/** Calls the dev server like a bot would: JSON in, JSON out, bearer token. */
export function apiClient(baseUrl: () => string) {
  return async function api<T>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; contentType?: string } = {},
  ): Promise<ApiResponse<T>> {
    const started = performance.now();
    const response = await fetch(baseUrl() + path, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { "content-type": options.contentType ?? "application/json" }),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === "" ? undefined : JSON.parse(text)) as T,
      headers: response.headers,
      elapsedMs: performance.now() - started,
    };
  };
}

export const fieldsOf = (body: unknown): string[] => ((body as ErrorBody).error.fields ?? []).map((issue) => issue.field);
