import type { ProvisioningStore } from "./ports";
import { readProvisioningMessage } from "./provision-from-queue";

export interface DeadLetter {
  readonly messageId: string;
  readonly receipt: string;
  readonly body: string;
}

/** The provisioning DLQ and the queue its messages go back to (SQS). */
export interface DeadLetterQueue {
  /** Visible + in-flight messages in the DLQ. */
  depth(): Promise<number>;
  /** Up to 10 messages, hidden from other readers for a while. */
  receive(max: number): Promise<DeadLetter[]>;
  /** Sends the bodies to the provisioning queue; returns the receipts of those sent. */
  sendBack(letters: readonly DeadLetter[]): Promise<string[]>;
  remove(receipts: readonly string[]): Promise<void>;
  /** Makes received messages visible again (a dry run leaves the DLQ as it was). */
  release(receipts: readonly string[]): Promise<void>;
}

export interface RedriveDeps {
  readonly dlq: DeadLetterQueue;
  readonly store: Pick<ProvisioningStore, "reopenExhausted">;
}

export interface RedriveOptions {
  readonly dryRun: boolean;
  readonly limit: number;
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => void;
  readonly signal?: AbortSignal | undefined;
}

export interface RedriveReport {
  readonly dryRun: boolean;
  /** Messages moved back (or, in a dry run, that would be). */
  readonly moved: number;
  /** Provisioning records set back from failed (exhausted) to pending. */
  readonly reopened: number;
  /** Messages that could not be sent back; they stay in the DLQ. */
  readonly notMoved: number;
  readonly provisioningIds: readonly string[];
  readonly remaining: number;
}

function idsOf(letters: readonly DeadLetter[]): string[] {
  return letters.flatMap((letter) => {
    const read = readProvisioningMessage(letter.body);
    if (read.kind === "ok") return [read.message.provisioningId];
    return read.kind === "invalid" ? [read.provisioningId] : [];
  });
}

/**
 * Moves DLQ messages back to the provisioning queue, 10 at a time, up to `limit`: their records go
 * back to pending, each message is deleted from the DLQ only once sent. If a delete fails the
 * message is sent twice at worst, which the consumer settles once. A dry run receives and
 * releases, changing nothing.
 */
export async function redriveDeadLetters(deps: RedriveDeps, options: RedriveOptions): Promise<RedriveReport> {
  const total = Math.min(options.limit, await deps.dlq.depth());
  const held: string[] = [];
  const ids: string[] = [];
  let moved = 0;
  let notMoved = 0;
  let reopened = 0;
  while (moved + notMoved < options.limit && !options.signal?.aborted) {
    const batch = await deps.dlq.receive(Math.min(10, options.limit - moved - notMoved));
    if (batch.length === 0) break;
    ids.push(...idsOf(batch));
    if (options.dryRun) {
      held.push(...batch.map((letter) => letter.receipt));
      moved += batch.length;
    } else {
      reopened += await deps.store.reopenExhausted(idsOf(batch));
      const sent = await deps.dlq.sendBack(batch);
      await deps.dlq.remove(sent);
      moved += sent.length;
      notMoved += batch.length - sent.length;
    }
    options.onProgress?.({ done: moved + notMoved, total: Math.max(total, moved + notMoved) });
  }
  if (held.length > 0) await deps.dlq.release(held);
  return { dryRun: options.dryRun, moved, reopened, notMoved, provisioningIds: ids, remaining: await deps.dlq.depth() };
}
