import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { provisionFromQueue } from "../core/provisioning/provision-from-queue";
import { provisioningWorker } from "../runtime/provisioning";
import { sqsDispositionOf } from "../runtime/sqs/error-mapping";

/** One record: poison is settled and acknowledged inside; a transient failure throws (retried by SQS). */
async function handleRecord(record: SQSRecord): Promise<void> {
  await provisionFromQueue(
    provisioningWorker(),
    { messageId: record.messageId, body: record.body, receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1 },
    sqsDispositionOf,
  );
}

/**
 * The provisioning queue's consumer: records of a batch in parallel, and only the ones that failed
 * transiently reported back (partial batch response), so SQS redelivers those alone.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  // A processor per invocation: it holds the batch's state, and local runs may overlap invocations.
  processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
