import { setTimeout as sleep } from "node:timers/promises";

export interface Person {
  readonly email: string;
  readonly telegramId: string;
  readonly okxUid: string;
  readonly plan: string;
}

export interface Delivery {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly replayed: boolean;
  readonly location: string | null;
  /** 409 "in progress" answers waited out before this one. */
  readonly conflicts: number;
  /** 5xx answers (overload, timeouts) retried before this one. */
  readonly retried: number;
}

const MAX_TRIES = 60;

/**
 * POST /v1/users as a well-behaved caller: a 409 for a twin still in progress, and any 5xx (a 503
 * says retrying is safe; the key makes it so), are retried with the same key after Retry-After.
 */
export async function deliver(apiUrl: string, token: string, key: string, person: Person): Promise<Delivery> {
  let conflicts = 0;
  let retried = 0;
  for (let tries = 1; ; tries += 1) {
    const response = await fetch(`${apiUrl}/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(person),
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    const inProgress = response.status === 409 && /in progress/.test(String((body.error as { message?: string } | undefined)?.message));
    if ((!inProgress && response.status < 500) || tries >= MAX_TRIES) {
      return { status: response.status, body, replayed: response.headers.get("idempotent-replayed") === "true", location: response.headers.get("location"), conflicts, retried };
    }
    if (inProgress) conflicts += 1;
    else retried += 1;
    await sleep(Number(response.headers.get("retry-after") ?? 1) * 1000);
  }
}

export async function api<T>(apiUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
