export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });

/** Polls `condition` until it holds or `timeoutMs` passes; resolves to whether it held. */
export async function eventually(condition: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
