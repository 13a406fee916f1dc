import { SQSClient } from "@aws-sdk/client-sqs";

export interface SqsOptions {
  readonly region: string;
  /** Local cloud: the emulator's endpoint; production leaves it unset. */
  readonly endpoint?: string | undefined;
}

export function createSqsClient(options: SqsOptions): SQSClient {
  return new SQSClient({
    region: options.region,
    maxAttempts: 3,
    ...(options.endpoint
      ? {
          endpoint: options.endpoint,
          // The emulator does not check signatures; static values avoid a credential-chain lookup.
          credentials: { accessKeyId: "local", secretAccessKey: "local" },
        }
      : {}),
  });
}
