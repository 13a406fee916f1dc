import { NotFoundError, ValidationError, errorMessage } from "../errors";
import type { HealthRecorder } from "../health-events/record-health-event";
import type { LogPort } from "../observability/log-port";
import { createUser } from "./create-user";
import type { CreateUserDeps } from "./create-user";
import type { ProvisioningMessage } from "./model";
import { provisioningIdSchema, provisioningMessageSchema } from "./schemas";

export interface ProvisionDeps extends CreateUserDeps {
  readonly health: HealthRecorder;
  readonly log: LogPort;
  /** Receives after which SQS parks a message in the DLQ (the queue's maxReceiveCount). */
  readonly maxReceiveCount: number;
}

export interface QueueDelivery {
  readonly messageId: string;
  readonly body: string;
  /** SQS ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
}

/** Whether a failure can ever succeed on redelivery (runtime/sqs/error-mapping.ts decides). */
export type FailureDisposition = (error: unknown) => "retry" | "poison";

export type ProvisionOutcome = "done" | "duplicate" | "poison";

type ReadMessage =
  | { readonly kind: "ok"; readonly message: ProvisioningMessage }
  | { readonly kind: "invalid"; readonly provisioningId: string; readonly error: ValidationError }
  | { readonly kind: "unreadable"; readonly problem: string };

/** Parses a message body; a readable provisioning id lets an otherwise invalid message be settled. */
export function readProvisioningMessage(body: string): ReadMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { kind: "unreadable", problem: "body is not JSON" };
  }
  const parsed = provisioningMessageSchema().safeParse(json);
  if (parsed.success) return { kind: "ok", message: parsed.data };
  const id = provisioningIdSchema().safeParse((json as { provisioningId?: unknown } | null)?.provisioningId);
  if (!id.success) return { kind: "unreadable", problem: "no provisioning id" };
  const issues = parsed.error.issues.map((issue) => ({ field: ["message", ...issue.path.map(String)].join("."), message: issue.message }));
  return { kind: "invalid", provisioningId: id.data, error: new ValidationError(issues) };
}

/**
 * One SQS delivery of a provisioning message. Duplicates (the record is settled) are acknowledged;
 * poison (invalid, conflicting identifiers, unknown record) is settled failed and acknowledged; a
 * transient failure is thrown for SQS to redeliver, and on the last receive the record is settled
 * failed (exhausted) before SQS parks the message in the DLQ. An unreadable message is dropped with
 * an ERROR event.
 */
export async function provisionFromQueue(deps: ProvisionDeps, delivery: QueueDelivery, dispositionOf: FailureDisposition): Promise<ProvisionOutcome> {
  const read = readProvisioningMessage(delivery.body);
  if (read.kind === "unreadable") {
    await deps.health({ level: "ERROR", message: "Unreadable provisioning message dropped", metadata: { messageId: delivery.messageId, problem: read.problem } });
    return "poison";
  }
  const provisioningId = read.kind === "ok" ? read.message.provisioningId : read.provisioningId;
  try {
    if (read.kind === "invalid") throw read.error;
    return await provision(deps, provisioningId, delivery.receiveCount);
  } catch (error) {
    if (dispositionOf(error) === "poison") {
      deps.log.warn("provisioning message is poison: settled failed, not retried", { provisioningId, reason: errorMessage(error) });
      await deps.store.failProvisioning(provisioningId, "poison", errorMessage(error), delivery.receiveCount);
      return "poison";
    }
    if (delivery.receiveCount >= deps.maxReceiveCount) await settleExhausted(deps, provisioningId, delivery.receiveCount, error);
    throw error;
  }
}

async function provision(deps: ProvisionDeps, provisioningId: string, receiveCount: number): Promise<ProvisionOutcome> {
  const record = await deps.store.getProvisioning(provisioningId);
  if (!record) throw new NotFoundError(`no provisioning record ${provisioningId}`);
  if (record.status === "done" || record.failureKind === "poison") return "duplicate";
  await createUser(deps, { request: record.request, provisioning: { id: provisioningId, receiveCount } });
  return "done";
}

/** Best effort: the failure that exhausted the receives may be the database itself. */
async function settleExhausted(deps: ProvisionDeps, provisioningId: string, receiveCount: number, error: unknown): Promise<void> {
  const reason = `gave up after ${receiveCount} receives, parked in the DLQ: ${errorMessage(error)}`;
  try {
    await deps.store.failProvisioning(provisioningId, "exhausted", reason, receiveCount);
  } catch (settleError) {
    deps.log.error("could not mark an exhausted provisioning record failed", { provisioningId, reason: errorMessage(settleError) });
  }
}
