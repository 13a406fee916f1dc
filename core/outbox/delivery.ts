import { errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import type { OutboxHandlers, OutboxMessage } from "./model";
import type { OutboxStore } from "./ports";

export interface OutboxDeliveryDeps {
  readonly store: OutboxStore;
  readonly log: LogPort;
}

/** Delay before the n-th retry (n >= 1): 1 s, 2 s, 4 s ... at most 5 minutes. */
export function outboxBackoffMs(attempts: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

export interface DeliveryOutcome {
  readonly delivered: readonly string[];
  readonly failed: readonly { readonly message: OutboxMessage; readonly reason: string }[];
}

/**
 * Runs handlers over messages grouped by topic and key: groups in parallel (at most `concurrency`),
 * a group's messages in order, and a failure stops its group (later messages of the same key wait
 * for the failed one, so effects never apply out of order).
 */
export async function runHandlers(
  messages: readonly OutboxMessage[],
  handlers: OutboxHandlers,
  concurrency: number,
): Promise<DeliveryOutcome & { readonly skipped: readonly OutboxMessage[] }> {
  const groups = new Map<string, OutboxMessage[]>();
  for (const message of messages) {
    const id = `${message.topic}\u0000${message.key}`;
    groups.set(id, [...(groups.get(id) ?? []), message]);
  }
  const delivered: string[] = [];
  const failed: { message: OutboxMessage; reason: string }[] = [];
  const skipped: OutboxMessage[] = [];
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      for (const [index, message] of group.entries()) {
        const handler = handlers[message.topic];
        try {
          if (!handler) throw new Error(`no handler for topic ${message.topic}`);
          await handler(message);
          delivered.push(message.id);
        } catch (error) {
          failed.push({ message, reason: errorMessage(error) });
          skipped.push(...group.slice(index + 1));
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, worker));
  return { delivered, failed, skipped };
}

/**
 * The writer's delivery right after its transaction committed: each message is handled at once and
 * its row deleted; a message that cannot be delivered now (Redis down) is left for a drain, due
 * after the first backoff step. Never throws: the change is committed whatever happens here.
 */
export async function deliverCommitted(
  deps: OutboxDeliveryDeps,
  messages: readonly OutboxMessage[],
  handlers: OutboxHandlers,
): Promise<DeliveryOutcome> {
  if (messages.length === 0) return { delivered: [], failed: [] };
  const outcome = await runHandlers(messages, handlers, 4);
  const postponed = [...outcome.failed.map((failure) => ({ id: failure.message.id, reason: failure.reason })), ...outcome.skipped.map((message) => ({ id: message.id, reason: "an earlier message of its key failed" }))];
  await settle(deps, outcome.delivered, postponed.map((entry) => ({ ...entry, delayMs: outboxBackoffMs(1) })));
  for (const failure of outcome.failed) {
    deps.log.warn("outbox delivery postponed", { topic: failure.message.topic, key: failure.message.key, reason: failure.reason });
  }
  return { delivered: outcome.delivered, failed: outcome.failed };
}

/** Deletes delivered rows and reschedules the others; a failure here only means a later redelivery. */
export async function settle(
  deps: OutboxDeliveryDeps,
  delivered: readonly string[],
  postponed: readonly { readonly id: string; readonly reason: string; readonly delayMs: number }[],
): Promise<void> {
  try {
    if (delivered.length > 0) await deps.store.remove(delivered);
  } catch (error) {
    deps.log.warn("outbox rows delivered but not deleted; a drain will deliver them again", { count: delivered.length, reason: errorMessage(error) });
  }
  await Promise.all(
    postponed.map(async ({ id, reason, delayMs }) => {
      try {
        await deps.store.retryLater(id, delayMs, reason);
      } catch (error) {
        // The row keeps its previous due time; it is retried then.
        deps.log.warn("outbox row could not be rescheduled", { id, reason: errorMessage(error) });
      }
    }),
  );
}
