import { FakeTelegramControl, startFakeTelegramApi } from "../../local/fake-telegram-api";
import type { FakeTelegramApi, FakeTelegramApiOptions, RecordedCall } from "../../local/fake-telegram-api";

export type { FakeTelegramApi, RecordedCall };

/**
 * A fake Bot API of this test file (local/fake-telegram-api.ts), and helpers to read what the code
 * under test sent it. Works the same with a fake another process runs: pass its root.
 */
export function startTestTelegram(options: FakeTelegramApiOptions = {}): Promise<FakeTelegramApi> {
  return startFakeTelegramApi(options);
}

/** The recorded calls of one method (case-insensitive), in order. */
export function callsOf(calls: readonly RecordedCall[], method: string): RecordedCall[] {
  return calls.filter((call) => call.method.toLowerCase() === method.toLowerCase());
}

/**
 * Polls the fake until `done(calls)` holds or the deadline passes (then fails with what it saw):
 * for calls made after the code under test answered (fire-and-forget alerts).
 */
export async function waitForCalls(
  source: FakeTelegramApi | string,
  done: (calls: RecordedCall[]) => boolean,
  options: { readonly timeoutMs?: number; readonly since?: number } = {},
): Promise<RecordedCall[]> {
  const read = typeof source === "string" ? (since: number) => new FakeTelegramControl(source).recorded(since) : async (since: number) => source.calls().slice(since);
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  for (;;) {
    const calls = await read(options.since ?? 0);
    if (done(calls)) return calls;
    if (Date.now() > deadline) throw new Error(`fake Bot API: condition not met within the deadline; calls: ${JSON.stringify(calls.map((call) => call.method))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
